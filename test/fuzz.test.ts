/**
 * Schema-driven fuzzing: every operation of the OpenAPI document served on /docs/json gets
 * property-based requests (fast-check) built from its own schemas — mostly valid, mixed with
 * hostile values that still fit the schema, wrong types, privileged extra keys, malformed
 * JSON, wrong content types and broken Authorization headers, with and without a valid token.
 *
 * Pass: no status >= 500; every error is problem+json; no body leaks a stack, SQL, Drizzle or a
 * source path; no privileged field changes (roles, flags, other users' rows, exact counters);
 * responses match the document. A failure shrinks to a minimal request, printed with its seed.
 *
 *   FUZZ_SEED=<n>|random   default: a fixed seed (CI); `random` prints the seed it drew
 *   FUZZ_RUNS=<n>          requests per operation (default 30)
 */
import { afterAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { createUser, makeAdmin, type TestUser } from './factories'
import { createTestContext } from './helpers'
import { CROSS_CUTTING, type Json, type Mismatch, OpenApi, type Operation } from './openapi'

const seedEnv = process.env.FUZZ_SEED ?? ''
const baseSeed = seedEnv === 'random' ? (Math.random() * 2 ** 31) | 0 : seedEnv ? Number(seedEnv) : 20261123
const runs = Number(process.env.FUZZ_RUNS ?? '') || 30
/** Per operation: generous, since a failure's shrinking re-sends many requests (and /metrics is slow to render). */
const timeout = Math.max(20_000, runs * 200)

const ctx = await createTestContext({ DATABASE_SYNCHRONOUS: 'normal' })
const api = new OpenApi((await ctx.call('GET', '/docs/json')).body)
const exec = async (sql: string, args: Array<string | number | null> = []) =>
  (await ctx.database.client.execute({ sql, args })).rows

// ---------------------------------------------------------------- the world the fuzzer pokes at

/** The fuzzer signs in as an ordinary user; a victim and an admin own rows it must not change. */
let fuzzer: TestUser
let fuzzerDirty = false
let fuzzerDeleted = false
const victim = await createUser(ctx, { display_name: 'Victim' })
const admin = await createUser(ctx)
await makeAdmin(ctx, admin)
const victimPost = (await ctx.call('POST', '/api/v1/posts', { token: victim.token, body: { text: 'victim post' } }))
  .body
const victimReply = (
  await ctx.call('POST', '/api/v1/posts', { token: admin.token, body: { text: 'reply', reply_to_id: victimPost.id } })
).body
await ctx.call('PUT', `/api/v1/posts/${victimPost.id}/like`, { token: admin.token })
await ctx.call('PUT', `/api/v1/users/${victim.username}/follow`, { token: admin.token })
const victimSessionId = (await ctx.call('GET', '/api/v1/auth/sessions', { token: victim.token })).body.items[0].id
fuzzer = await createUser(ctx)
const fuzzerPost = (await ctx.call('POST', '/api/v1/posts', { token: fuzzer.token, body: { text: 'mine' } })).body

/** Rows the fuzzer may never change, whatever it sends. */
const frozenQueries = {
  victim: [
    'SELECT id, username, email, display_name, bio, avatar_url, role, disabled, email_verified, password_hash, created_at FROM users WHERE id IN (?, ?) ORDER BY id',
    [Number(victim.id), Number(admin.id)],
  ],
  posts: [
    'SELECT id, author_id, text, reply_to_id, created_at, edited_at FROM posts WHERE id IN (?, ?) ORDER BY id',
    [Number(victimPost.id), Number(victimReply.id)],
  ],
  sessions: [
    'SELECT id, user_id, refresh_token_hash, revoked_at, expires_at FROM sessions WHERE user_id IN (?, ?) ORDER BY id',
    [Number(victim.id), Number(admin.id)],
  ],
  likes: [
    'SELECT user_id, post_id FROM likes WHERE user_id IN (?, ?) ORDER BY id',
    [Number(victim.id), Number(admin.id)],
  ],
  follows: [
    'SELECT follower_id, followee_id FROM follows WHERE follower_id IN (?, ?) ORDER BY id',
    [Number(victim.id), Number(admin.id)],
  ],
} as const
const snapshot = async () => {
  const out: Record<string, unknown> = {}
  for (const [name, [sql, args]] of Object.entries(frozenQueries)) out[name] = await exec(sql, [...args])
  return JSON.stringify(out)
}
const frozen = await snapshot()

/** What must hold after every request: nobody gained a privilege, frozen rows are intact, counters exact. */
async function invariants(): Promise<string[]> {
  const broken: string[] = []
  if ((await snapshot()) !== frozen) broken.push("another user's rows changed")
  const admins = await exec("SELECT id FROM users WHERE role <> 'user'")
  if (admins.length !== 1 || Number(admins[0]?.id) !== Number(admin.id)) broken.push('someone else became an admin')
  if ((await exec('SELECT id FROM users WHERE disabled <> 0 OR email_verified <> 0')).length > 0)
    broken.push('a user was disabled or verified')
  const counters = await exec(`
    SELECT 'likes' AS what, p.id FROM posts p WHERE p.likes_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)
    UNION ALL SELECT 'replies', p.id FROM posts p WHERE p.replies_count <> (SELECT count(*) FROM posts r WHERE r.reply_to_id = p.id)
    UNION ALL SELECT 'posts', u.id FROM users u WHERE u.posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id)
    UNION ALL SELECT 'followers', u.id FROM users u WHERE u.followers_count <> (SELECT count(*) FROM follows f WHERE f.followee_id = u.id)
    UNION ALL SELECT 'following', u.id FROM users u WHERE u.following_count <> (SELECT count(*) FROM follows f WHERE f.follower_id = u.id)`)
  for (const r of counters) broken.push(`${r.what}_count of ${r.id} is not exact`)
  const foreign = await exec(`SELECT id FROM posts WHERE author_id IN (?, ?) AND id NOT IN (?, ?)`, [
    Number(victim.id),
    Number(admin.id),
    Number(victimPost.id),
    Number(victimReply.id),
  ])
  if (foreign.length > 0) broken.push('a post was created as another user')
  return broken
}

/** Signs the fuzzer in again when a request ended its session, or registers a new one if it deleted itself. */
async function ensureFuzzer() {
  if (fuzzerDeleted) {
    fuzzerDeleted = fuzzerDirty = false
    fuzzer = await createUser(ctx)
    return
  }
  if (!fuzzerDirty) return
  fuzzerDirty = false
  const login = await ctx.call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: fuzzer.username, password: fuzzer.password },
  })
  if (login.status === 200) {
    fuzzer = { ...fuzzer, token: login.body.access_token, refreshToken: login.body.refresh_token }
    return
  }
  fuzzer = await createUser(ctx)
}

// ---------------------------------------------------------------- values

const huge = 'x'.repeat(10_000)
/** Strings that hurt somewhere: control and bidi characters, lone surrogates, injections, sizes. */
const hostileStrings = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\ud83d',
  '\u202ehello\u202c',
  '\u2066\u200f\u061c',
  '\ufeff',
  '\u0085\u2028\u2029',
  "' OR '1'='1' --",
  "'; DROP TABLE users; --",
  '") UNION SELECT password_hash FROM users --',
  '%00%27%22',
  '%s%s%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection payload, on purpose
  '${7*7}',
  '{{7*7}}',
  '<%= 7*7 %>',
  '#{7*7}',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..\\..\\windows\\win.ini',
  'file:///etc/passwd',
  '<script>alert(1)</script>',
  'javascript:alert(1)',
  '\r\nSet-Cookie: x=1',
  '__proto__',
  'constructor',
  'prototype',
  ' ',
  '',
  '\t\n\r',
  '🙂'.repeat(501),
  'e\u0301'.repeat(300),
  huge,
  `https://example.com/${'a'.repeat(3000)}`,
  'http://[::1]:80/',
]
/** JSON number texts, written raw: beyond double precision, beyond the double range, negative zero. */
const hostileNumbers = [
  '0',
  '-0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e999',
  '9007199254740993',
  '18446744073709551616',
  '1e-400',
]
const privilegedKeys = [
  'role',
  'author_id',
  'likes_count',
  'replies_count',
  'followers_count',
  'id',
  'user_id',
  'email_verified',
  'disabled',
  'created_at',
  'password_hash',
  '__proto__',
  'constructor',
  'prototype',
]

/** A JSON text fragment; `raw` values are written as is (numbers JSON.stringify cannot produce). */
type Value = { json: unknown } | { raw: string }
const json = (v: unknown): Value => ({ json: v })
const text = (v: Value) => ('raw' in v ? v.raw : JSON.stringify(v.json))

const anyJson: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, [], {}, [1, 2], { role: 'admin' }).map(json),
  fc.constantFrom(...hostileNumbers).map((raw) => ({ raw })),
  fc.string({ maxLength: 8 }).map(json),
)

/** Values a field name suggests: the fuzzer's world is small, so real names and ids come up often. */
function knownValues(name: string): string[] {
  const users = [fuzzer.username, victim.username, admin.username, 'nobody_here']
  const posts = [victimPost.id, victimReply.id, fuzzerPost.id, '1', '999999']
  switch (name) {
    case 'username':
      return users
    case 'email':
      return [fuzzer.email, victim.email, 'new@example.com', 'a@b.co']
    case 'reply_to_id':
    case 'id':
      return [...posts, victimSessionId]
    // Never the victim's secrets: whoever holds them may act as the victim.
    case 'password':
    case 'current_password':
      return [fuzzer.password, 'wrong password']
    case 'grant_type':
      return ['password', 'refresh_token', 'client_credentials']
    case 'refresh_token':
      return [fuzzer.refreshToken, fuzzer.token, victim.token]
    case 'role':
      return ['user', 'admin']
    case 'q':
      return ['user', 'vic', '%', '_']
    default:
      return []
  }
}

/** Whether a string satisfies a string schema (TypeBox counts UTF-16 units, as `length` does). */
function fits(schema: Json, s: string): boolean {
  if (schema.maxLength !== undefined && s.length > schema.maxLength) return false
  if (schema.minLength !== undefined && s.length < schema.minLength) return false
  return schema.pattern ? new RegExp(schema.pattern).test(s) : true
}

/** A string the schema accepts: generated from its constraints, a known name or id, or a hostile one that still fits. */
function validString(schema: Json, name: string): fc.Arbitrary<string> {
  const max: number | undefined = schema.maxLength
  const min: number = schema.minLength ?? 0
  const generated = schema.pattern
    ? fc.stringMatching(new RegExp(schema.pattern), { maxLength: 40 }).filter((s) => fits(schema, s))
    : fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max ?? 40, 40)) })
  const known = knownValues(name).filter((s) => fits(schema, s))
  const hostile = hostileStrings.map((h) => (max !== undefined ? h.slice(0, max) : h)).filter((h) => fits(schema, h))
  return fc.oneof(
    { weight: 3, arbitrary: generated },
    ...(known.length > 0 ? [{ weight: 4, arbitrary: fc.constantFrom(...known) }] : []),
    ...(hostile.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...hostile) }] : []),
  )
}

/** A string that may break the schema: hostile as is, or arbitrary code units including lone surrogates. */
const hostileString = fc.oneof(fc.constantFrom(...hostileStrings), fc.string({ unit: 'binary', maxLength: 12 }))

/** A value the schema accepts. */
function validValue(schema: Json, name: string): fc.Arbitrary<Value> {
  const alternatives: Json[] | undefined = schema?.anyOf ?? schema?.oneOf
  if (alternatives) return fc.oneof(...alternatives.map((s) => validValue(s, name)))
  if (schema?.const !== undefined) return fc.constant(json(schema.const))
  switch (schema?.type) {
    case 'string':
      return validString(schema, name).map(json)
    case 'boolean':
      return fc.boolean().map(json)
    case 'null':
      return fc.constant(json(null))
    case 'integer':
    case 'number':
      return fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 1000 }).map(json)
    default:
      return anyJson
  }
}

/** A value of the wrong type or out of range for its field. */
const wrongValue: fc.Arbitrary<Value> = fc.oneof(anyJson, hostileString.map(json))

type Body = { kind: 'text'; text: string } | { kind: 'bytes'; bytes: number[] } | { kind: 'none' }

const malformedJson = [
  '{',
  '{"text":',
  '{"text": "x",}',
  "{'text': 'x'}",
  'NaN',
  '{"text": "x"}{"text": "y"}',
  '\u0000',
  '\ufeff{"text": "x"}',
  '{"a": 1, "a": 2}',
  `${'['.repeat(4000)}${']'.repeat(4000)}`,
  `{"text": ${'['.repeat(4000)}${']'.repeat(4000)}}`,
  '"just a string"',
  '[{"text": "x"}]',
  'null',
  '12',
  'true',
  '',
]
const badBytes = [
  [0xff, 0xfe, 0xfd],
  [0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d], // {"t":"?("} with an invalid UTF-8 sequence
  [0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d], // an encoded lone surrogate
]
const contentTypes = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  '',
]
const brokenAuth = [
  'Bearer',
  'Bearer ',
  'bearer x.y.z',
  'Basic dXNlcjpwYXNz',
  'Token abc',
  'Bearer a.b',
  'Bearer null',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
  `Bearer ${'A'.repeat(8000)}`,
  'Bearer  two spaces',
  'Bearer tok, Bearer tok2',
]

/**
 * One thing wrong with an otherwise valid request, or nothing. Keeping it to one at a time
 * makes about half the requests valid (so handlers run, not only validators) and makes a
 * shrunk failure name its cause.
 */
type Mutation =
  | { kind: 'none' }
  | { kind: 'wrong-value'; index: number; value: Value }
  | { kind: 'drop-field'; index: number }
  | { kind: 'extra-keys'; keys: Array<[string, Value]> }
  | { kind: 'body'; body: Body }
  | { kind: 'content-type'; contentType: string }
  | { kind: 'auth'; auth: string }
  | { kind: 'path-param'; index: number; value: string }
  | { kind: 'query'; name: string; value: string }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wrong-value' as const), index: fc.nat(5), value: wrongValue }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop-field' as const), index: fc.nat(5) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('extra-keys' as const),
      keys: fc.array(fc.tuple(fc.constantFrom(...privilegedKeys), anyJson), { minLength: 1, maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('body' as const),
      body: fc.oneof(
        fc.constantFrom(...malformedJson).map((text): Body => ({ kind: 'text', text })),
        fc.constantFrom(...badBytes).map((bytes): Body => ({ kind: 'bytes', bytes })),
        fc.constant<Body>({ kind: 'text', text: `{"text":"${'y'.repeat(70 * 1024)}"}` }),
        fc.constant<Body>({ kind: 'none' }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('content-type' as const), contentType: fc.constantFrom(...contentTypes) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('auth' as const),
      auth: fc.constantFrom<AuthChoice>('none', 'victim-refresh', ...brokenAuth),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('path-param' as const), index: fc.nat(3), value: hostileString }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('query' as const),
      name: fc.constantFrom('limit', 'cursor', 'q', 'include_replies', 'role', '__proto__', 'user_id'),
      value: fc.oneof(
        fc.constantFrom('0', '-1', '101', '1e3', '1.5', 'NaN', '', '99999999999999999999', '0x10', 'yes'),
        hostileString,
      ),
    }),
  },
)

type AuthChoice = 'valid' | 'none' | 'victim-refresh' | string

interface FuzzRequest {
  method: string
  path: string
  query: Array<[string, string]>
  auth: AuthChoice
  contentType: string
  idempotencyKey?: string
  body: Body
  /** What was done to the otherwise valid request. */
  mutation?: Mutation['kind']
}

/** Path and query values are sent percent-encoded; a lone surrogate becomes bytes that are not UTF-8. */
const encode = (s: string) =>
  s.replace(/[\s\S]/gu, (ch) => (/^[\ud800-\udfff]$/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch)))

const cursorArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc
    .tuple(
      fc.constantFrom('posts', 'users', 'timeline', 'replies', 'followers', 'nope'),
      fc.oneof(fc.integer(), fc.constantFrom(-1, 2 ** 53, 1e308, 'x', null, { a: 1 }), fc.string({ maxLength: 5 })),
    )
    .map((key) => Buffer.from(JSON.stringify(key)).toString('base64url')),
  fc.constantFrom('W10', 'bnVsbA', 'eyJfX3Byb3RvX18iOnt9fQ'),
)

function queryValueArb(p: Operation['params'][number]): fc.Arbitrary<string> {
  if (p.name === 'cursor') return cursorArb
  if (p.name === 'limit') return fc.integer({ min: 1, max: 100 }).map(String)
  if (p.schema?.type === 'boolean') return fc.constantFrom('true', 'false')
  return validString(p.schema ?? {}, p.name)
}

function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.params.filter((p) => p.in === 'path')
  const queryParams = op.params.filter((p) => p.in === 'query')
  const header = op.params.find((p) => p.in === 'header' && p.name === 'idempotency-key')
  const props = Object.entries<Json>(op.body?.properties ?? {})
  const required = new Set<string>(op.body?.required ?? [])
  return fc
    .record({
      pathValues: fc.tuple(fc.constant(''), ...pathParams.map((p) => validString(p.schema ?? {}, p.name))),
      query: fc.tuple(
        fc.constant(null),
        ...queryParams.map((p) =>
          fc.option(
            queryValueArb(p).map((v): [string, string] => [p.name, v]),
            { freq: 2 },
          ),
        ),
      ),
      fields: fc.tuple(
        fc.constant(null),
        ...props.map(([name, schema]) => {
          const field = validValue(schema, name).map((v): [string, Value] => [name, v])
          return required.has(name) ? field : fc.option(field, { freq: 2 })
        }),
      ),
      anonymous: op.secured ? fc.constant(false) : fc.boolean(),
      idempotencyKey: header
        ? fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('x'.repeat(256), 'k1')), {
            nil: undefined,
          })
        : fc.constant(undefined),
      mutation: mutationArb,
    })
    .map(({ pathValues, query, fields, anonymous, idempotencyKey, mutation }): FuzzRequest => {
      const values = pathValues.slice(1)
      const params = query.filter((q): q is [string, string] => q !== null)
      let entries = fields.filter((f): f is [string, Value] => f !== null)
      let body: Body = { kind: 'none' }
      let contentType = 'application/json'
      let auth: AuthChoice = anonymous ? 'none' : 'valid'
      switch (mutation.kind) {
        case 'wrong-value':
          if (entries.length > 0) {
            const i = mutation.index % entries.length
            entries = entries.map((e, j) => (j === i ? [e[0], mutation.value] : e))
          }
          break
        case 'drop-field':
          if (entries.length > 0) entries = entries.filter((_, j) => j !== mutation.index % entries.length)
          break
        case 'extra-keys':
          entries = [...entries, ...mutation.keys]
          break
        case 'content-type':
          contentType = mutation.contentType
          break
        case 'auth':
          auth = mutation.auth
          break
        case 'path-param':
          if (values.length > 0) values[mutation.index % values.length] = mutation.value
          break
        case 'query':
          params.push([mutation.name, mutation.value])
          break
      }
      if (op.body || (mutation.kind === 'extra-keys' && op.method !== 'GET'))
        body = { kind: 'text', text: `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}` }
      if (mutation.kind === 'body' && op.method !== 'GET') body = mutation.body
      let path = op.path
      pathParams.forEach((p, i) => {
        path = path.replace(`{${p.name}}`, encode(values[i] ?? ''))
      })
      return {
        method: op.method,
        path,
        query: params,
        auth,
        contentType,
        body,
        mutation: mutation.kind,
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      }
    })
}

// ---------------------------------------------------------------- sending and judging

let sent = 0
const statuses = new Map<string, number>()
let serverErrors = 0
const mismatches: Mismatch[] = []
const leakMarkers = [
  /\n\s+at\s/,
  /SQLITE/i,
  /drizzle/i,
  /\/work\//,
  /node_modules/,
  /\bsrc\/[\w/-]+\.ts/,
  /\.ts:\d+/,
  /\$argon2/,
]

function describeRequest(r: FuzzRequest): string {
  const body =
    r.body.kind === 'none'
      ? ''
      : r.body.kind === 'bytes'
        ? ` bytes=${JSON.stringify(r.body.bytes)}`
        : ` body=${JSON.stringify(r.body.text.length > 300 ? `${r.body.text.slice(0, 300)}…(${r.body.text.length})` : r.body.text)}`
  const q = r.query.length > 0 ? `?${r.query.map(([k, v]) => `${k}=${encode(v)}`).join('&')}` : ''
  return `${r.method} ${r.path}${q} auth=${JSON.stringify(r.auth.length > 60 ? `${r.auth.slice(0, 60)}…` : r.auth)} content-type=${JSON.stringify(r.contentType)}${r.idempotencyKey !== undefined ? ` idempotency-key=${JSON.stringify(r.idempotencyKey.slice(0, 40))}` : ''}${body}`
}

async function send(r: FuzzRequest): Promise<void> {
  await ensureFuzzer()
  const headers = new Headers()
  if (r.auth === 'valid') headers.set('authorization', `Bearer ${fuzzer.token}`)
  else if (r.auth === 'victim-refresh') headers.set('authorization', `Bearer ${victim.refreshToken}`)
  else if (r.auth !== 'none') headers.set('authorization', r.auth)
  if (r.body.kind !== 'none' && r.contentType) headers.set('content-type', r.contentType)
  if (r.idempotencyKey !== undefined) headers.set('idempotency-key', r.idempotencyKey)
  const body = r.body.kind === 'text' ? r.body.text : r.body.kind === 'bytes' ? new Uint8Array(r.body.bytes) : undefined
  const q = r.query.length > 0 ? `?${r.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}` : ''
  const res = await ctx.app.handle(new Request(`http://localhost${r.path}${q}`, { method: r.method, headers, body }))
  const resText = await res.text()
  sent++
  const bucket = `${r.method} ${new URL(`http://localhost${r.path}`).pathname.replace(/\/[^/]*\d[^/]*|\/user_[^/]*/g, '/:x')} ${res.status}`
  statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1)
  const fail = (why: string) => {
    throw new Error(`${why}\n  request:  ${describeRequest(r)}\n  response: ${res.status} ${resText.slice(0, 500)}`)
  }
  if (res.status >= 500) {
    serverErrors++
    fail(`status ${res.status}`)
  }
  const requestText = `${r.path}${q} ${r.body.kind === 'text' ? r.body.text : ''} ${r.auth}`
  for (const marker of leakMarkers)
    if (marker.test(resText) && !marker.test(requestText)) fail(`the body leaks ${marker}`)
  if (res.status >= 400) {
    if (!(res.headers.get('content-type') ?? '').startsWith('application/problem+json'))
      fail('an error that is not problem+json')
    let problem: Json
    try {
      problem = JSON.parse(resText)
    } catch {
      return fail('a problem body that is not JSON')
    }
    if (
      problem.status !== res.status ||
      problem.type !== `/problems/${problem.code}` ||
      typeof problem.title !== 'string'
    )
      fail('a malformed problem')
  }
  // The URL parser resolves dot segments (`/posts/..` is `/`): judge by the route really asked for.
  const served = api.match(r.method, new URL(`http://localhost${r.path}`).pathname)
  if (served) mismatches.push(...api.check(served, res.status, res.headers.get('content-type'), resText, CROSS_CUTTING))

  // Keep the fuzzer signed in: a request may end its session, change its password or delete it.
  const withToken = r.auth === 'valid'
  if (withToken && (res.status === 401 || res.status === 403)) fuzzerDirty = true
  if (withToken && res.status < 300) {
    if (/\/auth\/(logout|logout-all|sessions\/)/.test(r.path)) fuzzerDirty = true
    if (r.path.endsWith('/auth/password') && r.body.kind === 'text') {
      fuzzer = { ...fuzzer, password: JSON.parse(r.body.text).new_password }
    }
    if (r.method === 'DELETE' && r.path.endsWith('/users/me')) fuzzerDeleted = true
  }
  if (res.status < 300 && (res.headers.get('content-type') ?? '').includes('json')) {
    const out = JSON.parse(resText)
    const users: Json[] = [out, out?.user, ...(Array.isArray(out?.items) ? out.items : [])]
    for (const u of users)
      if (u && typeof u === 'object' && 'role' in u && u.id !== admin.id && u.role !== 'user')
        fail('a response shows a promoted user')
    if (
      served?.key === 'POST /api/v1/posts' &&
      (out.author?.id !== fuzzer.id || out.likes_count !== 0 || out.replies_count !== 0)
    )
      if (res.headers.get('idempotent-replayed') !== 'true') fail('a new post that is not the caller’s own, fresh post')
  }
  // Reads change nothing; a write may, even one that failed (a 500 after a commit, say).
  const broken = r.method === 'GET' ? [] : await invariants()
  if (broken.length > 0) fail(`invariant broken: ${broken.join('; ')}`)
}

afterAll(() => {
  if (process.env.FUZZ_VERBOSE) {
    for (const [k, n] of [...statuses].sort()) console.log(`${n}\t${k}`)
    for (const k of [...api.undocumented].sort()) console.log(`not listed on its operation: ${k}`)
  }
  console.log(
    `fuzz: seed=${baseSeed} runs_per_operation=${runs} operations=${api.operations.length} requests=${sent} status_5xx=${serverErrors} schema_mismatches=${mismatches.length} cross_cutting_undocumented=${api.undocumented.size}`,
  )
})

describe(`fuzzing every documented operation (seed ${baseSeed}, ${runs} runs each)`, () => {
  api.operations.forEach((op, i) => {
    test(
      op.key,
      async () => {
        await fc.assert(
          fc.asyncProperty(requestArb(op), async (r) => {
            await send(r)
          }),
          { seed: baseSeed + i, numRuns: runs },
        )
      },
      timeout,
    )
  })

  test(
    'unknown routes and methods',
    async () => {
      const segment = fc.oneof(
        fc.constantFrom(
          'api',
          'v1',
          'posts',
          'users',
          'admin',
          'me',
          '..',
          '%2e%2e',
          '%00',
          'docs',
          '1',
          'x'.repeat(300),
        ),
        fc.string({ maxLength: 6 }).map(encode),
      )
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'),
          fc.array(segment, { minLength: 1, maxLength: 5 }),
          async (method, segments) => {
            const path = `/${segments.join('/')}`
            const r: FuzzRequest = {
              method,
              path,
              query: [],
              auth: 'valid',
              contentType: 'application/json',
              body: { kind: 'none' },
            }
            await send(r)
          },
        ),
        { seed: baseSeed - 1, numRuns: runs * 2 },
      )
    },
    timeout,
  )

  test('responses conformed to the document', () => {
    // Reported after the runs, not thrown per request, so one look shows every departure.
    const distinct = [...new Map(mismatches.map((m) => [`${m.operation} ${m.status} ${m.problem}`, m])).values()]
    expect(distinct).toEqual([])
    expect(serverErrors).toBe(0)
  })
})

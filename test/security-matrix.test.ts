/**
 * The security matrix as tests: every mutating route against another user's resource, every
 * route that takes a bearer token against forged and dead tokens, CORS from a foreign origin
 * on every route, and the logs of a real server process checked for passwords and tokens.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { SignJWT } from 'jose'
import { createUser, makeAdmin, type TestUser } from './factories'
import { type CallResult, createTestContext, expectProblem } from './helpers'
import { OpenApi, type Operation } from './openapi'
import { startServerProcess } from './processes'

const ctx = await createTestContext()
const api = new OpenApi((await ctx.call('GET', '/docs/json')).body)
const secret = new TextEncoder().encode(ctx.config.jwt.secret)
const rows = async (sql: string, args: Array<string | number> = []) =>
  JSON.stringify((await ctx.database.client.execute({ sql, args })).rows)

/** Every row of every table, to show a batch of rejected requests changed nothing at all. */
async function dump(): Promise<string> {
  const tables = (
    await ctx.database.client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
  ).rows.map((r) => String(r.name))
  const out: string[] = []
  for (const t of tables) {
    // Ordered by every column: a WITHOUT ROWID table (timeline_entries) has no rowid.
    const columns = (await ctx.database.client.execute(`SELECT name FROM pragma_table_info('${t}')`)).rows
    out.push(t, await rows(`SELECT * FROM "${t}" ORDER BY ${columns.map((c) => `"${String(c.name)}"`).join(', ')}`))
  }
  return out.join('\n')
}

async function post(user: TestUser, text: string): Promise<string> {
  const res = await ctx.call('POST', '/api/v1/posts', { token: user.token, body: { text } })
  if (res.status !== 201) throw new Error(`post: ${res.status} ${res.text}`)
  return res.body.id
}

async function login(user: TestUser): Promise<{ token: string; refreshToken: string; sessionId: string }> {
  const res = await ctx.call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: user.username, password: user.password },
  })
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`)
  const sessions = await ctx.call('GET', '/api/v1/auth/sessions', { token: res.body.access_token })
  const current = sessions.body.items.find((s: { current: boolean }) => s.current)
  return { token: res.body.access_token, refreshToken: res.body.refresh_token, sessionId: current.id }
}

/** A request for `op` that would succeed for `user`: its own post, its other session, another user to follow. */
function validRequest(
  op: Operation,
  r: { user: TestUser; password: string; ownPost: string; otherSession: string; otherUser: string },
): { path: string; body?: unknown } {
  const path = op.path
    .replace('{id}', op.path.includes('/sessions/') ? r.otherSession : r.ownPost)
    .replace('{username}', r.otherUser)
  const bodies: Record<string, unknown> = {
    'PATCH /api/v1/users/me': { bio: 'changed' },
    'DELETE /api/v1/users/me': { password: r.password },
    'POST /api/v1/posts': { text: 'hello' },
    'PATCH /api/v1/posts/{id}': { text: 'edited' },
    'PATCH /api/v1/admin/users/{username}': { disabled: false },
    'POST /api/v1/auth/password': { current_password: r.password, new_password: 'a brand new password' },
  }
  return { path, ...(op.key in bodies ? { body: bodies[op.key] } : {}) }
}

/** Routes that take a bearer token: required, or optional (a bad one is still 401). */
const protectedOps = api.operations.filter((o) => o.secured || o.optionalAuth)
// The destructive ones last, so the control run keeps its user until the end.
const lastOf = [
  'POST /api/v1/auth/password',
  'POST /api/v1/auth/logout',
  'POST /api/v1/auth/logout-all',
  'DELETE /api/v1/users/me',
]
protectedOps.sort((a, b) => lastOf.indexOf(a.key) - lastOf.indexOf(b.key))

describe('forged and dead tokens on every route that takes one', () => {
  test(`${protectedOps.length} routes × every forgery → 401 problem+json with WWW-Authenticate, and nothing changes`, async () => {
    const owner = await createUser(ctx)
    const other = await createUser(ctx)
    const ownPost = await post(owner, 'owner post')
    const second = await login(owner)
    const claims = JSON.parse(Buffer.from(owner.token.split('.')[1] as string, 'base64url').toString())
    const now = Math.floor(Date.now() / 1000)
    const base = { sub: claims.sub, sid: claims.sid, jti: 'forged-jti', typ: 'access' }
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const sign = async (
      payload: Record<string, unknown>,
      o: {
        alg?: string
        key?: Uint8Array
        header?: Record<string, unknown>
        exp?: number | null
        iss?: string
        aud?: string
        nbf?: number
      } = {},
    ) => {
      let jwt = new SignJWT(payload)
        .setProtectedHeader({ alg: o.alg ?? 'HS256', typ: 'at+jwt', ...o.header })
        .setIssuedAt()
        .setIssuer(o.iss ?? 'pamps')
        .setAudience(o.aud ?? 'pamps-api')
      if (o.nbf) jwt = jwt.setNotBefore(o.nbf)
      if (o.exp !== null) jwt = jwt.setExpirationTime(o.exp ?? now + 600)
      return jwt.sign(o.key ?? secret)
    }
    // The control: a token forged with everything right is accepted, so each 401 below is the forgery's.
    const wellFormed = await sign(base)
    expect((await ctx.call('GET', '/api/v1/users/me', { token: wellFormed })).status).toBe(200)

    // Users whose real tokens die: deleted, disabled by an admin, logged out.
    const deleted = await createUser(ctx)
    expect(
      (await ctx.call('DELETE', '/api/v1/users/me', { token: deleted.token, body: { password: deleted.password } }))
        .status,
    ).toBe(204)
    const disabled = await createUser(ctx)
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const disabling = await ctx.call('PATCH', `/api/v1/admin/users/${disabled.username}`, {
      token: admin.token,
      body: { disabled: true },
    })
    expect(disabling.status).toBe(200)
    const revoked = await login(owner)
    expect((await ctx.call('POST', '/api/v1/auth/logout', { token: revoked.token })).status).toBe(204)

    const forged: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`,
      HS384: await sign(base, { alg: 'HS384' }),
      HS512: await sign(base, { alg: 'HS512' }),
      'wrong secret': await sign(base, {
        key: new TextEncoder().encode('not-the-secret-not-the-secret-not-the-secret'),
      }),
      'tampered payload': `${owner.token.split('.')[0]}.${b64({ ...claims, sub: String(other.id) })}.${owner.token.split('.')[2]}`,
      'missing exp': await sign(base, { exp: null }),
      'expired exp': await sign(base, { exp: now - 5 }),
      'future nbf': await sign(base, { nbf: now + 3600 }),
      'wrong iss': await sign(base, { iss: 'someone-else' }),
      'wrong aud': await sign(base, { aud: 'another-api' }),
      'wrong typ (header)': await sign(base, { header: { typ: 'JWT' } }),
      'refresh as access': owner.refreshToken,
      'kid injection': await sign(base, { header: { kid: '../../../../dev/null' } }),
      'jku injection': await sign(base, { header: { jku: 'https://attacker.example/jwks.json', kid: '1' } }),
      'deleted user': deleted.token,
      'disabled user': disabled.token,
      'revoked session': revoked.token,
      'wrong typ (claim)': await sign({ ...base, typ: 'refresh' }),
      // Beyond the eighteen: a session that never existed, an embedded key, garbage.
      'unknown session': await sign({ ...base, sid: 'no-such-session' }),
      'embedded jwk': await sign(base, {
        header: { jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } },
      }),
      garbage: 'not.a.jwt',
    }
    expect(Object.keys(forged).length).toBeGreaterThanOrEqual(18)

    const before = await dump()
    const failures: string[] = []
    let checked = 0
    for (const op of protectedOps) {
      const { path, body } = validRequest(op, {
        user: owner,
        password: owner.password,
        ownPost,
        otherSession: second.sessionId,
        otherUser: other.username,
      })
      for (const [name, token] of Object.entries(forged)) {
        const res = await ctx.call(op.method, path, { token, ...(body !== undefined ? { body } : {}) })
        checked++
        const ok =
          res.status === 401 &&
          (res.headers.get('content-type') ?? '').startsWith('application/problem+json') &&
          (res.headers.get('www-authenticate') ?? '').startsWith('Bearer') &&
          ['unauthorized', 'token_expired'].includes(res.body?.code)
        if (!ok) failures.push(`${op.key} with ${name}: ${res.status} ${res.text.slice(0, 160)}`)
      }
    }
    expect(failures).toEqual([])
    expect(checked).toBe(protectedOps.length * Object.keys(forged).length)
    expect(await dump()).toBe(before)

    // The control run: the same requests with a real token are not 401 (a fresh session for each,
    // since some of them end it).
    for (const op of protectedOps) {
      const fresh = await login(owner)
      const { path, body } = validRequest(op, {
        user: owner,
        password: owner.password,
        ownPost: await post({ ...owner, token: fresh.token }, 'control'),
        otherSession: second.sessionId,
        otherUser: other.username,
      })
      const res = await ctx.call(op.method, path, { token: fresh.token, ...(body !== undefined ? { body } : {}) })
      const allowed = op.key.startsWith('GET /api/v1/admin') || op.key.startsWith('PATCH /api/v1/admin') ? [403] : []
      if (
        res.status >= 300 &&
        !allowed.includes(res.status) &&
        !(op.key === 'DELETE /api/v1/auth/sessions/{id}' && res.status === 404)
      )
        throw new Error(`control ${op.key}: ${res.status} ${res.text}`)
      if (op.key === 'POST /api/v1/auth/password') owner.password = 'a brand new password'
    }
  })

  test('a disabled account: 401 once an admin disabled it (its sessions end); 403 account_disabled if only the flag is set', async () => {
    const u = await createUser(ctx)
    await ctx.database.client.execute({ sql: 'UPDATE users SET disabled = 1 WHERE id = ?', args: [Number(u.id)] })
    // The contract: a disabled account's tokens stop working; the code says why when the session still exists.
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: u.token }), 403, 'account_disabled')
    expectProblem(await ctx.call('GET', '/api/v1/timeline', { token: u.token }), 403, 'account_disabled')
    const login = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: u.password },
    })
    expectProblem(login, 403, 'account_disabled')
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } }),
      401,
      'unauthorized',
    )
  })
})

/**
 * Each mutating route aimed at another user's resource. `self-only` routes name no resource of
 * anyone else (they act on the caller): for them the check is that nobody else's rows change.
 */
describe("another user's resources", () => {
  test('every mutating route × a resource of another user → 403, or 404 where it is private; the row is unchanged', async () => {
    const alice = await createUser(ctx)
    const bob = await createUser(ctx)
    const carol = await createUser(ctx)
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const bobPost = await post(bob, 'bob post')
    const hidden = await createUser(ctx)
    const hiddenPost = await post(hidden, 'soon hidden')
    expect(
      (
        await ctx.call('PATCH', `/api/v1/admin/users/${hidden.username}`, {
          token: admin.token,
          body: { disabled: true },
        })
      ).status,
    ).toBe(200)
    const bobSession = (await ctx.call('GET', '/api/v1/auth/sessions', { token: bob.token })).body.items[0].id
    await ctx.call('PUT', `/api/v1/posts/${bobPost}/like`, { token: bob.token })
    await ctx.call('PUT', `/api/v1/users/${carol.username}/follow`, { token: bob.token })
    const bobRows = async () =>
      [
        await rows('SELECT * FROM users WHERE id = ?', [Number(bob.id)]),
        await rows('SELECT * FROM posts WHERE author_id = ?', [Number(bob.id)]),
        await rows('SELECT * FROM post_edits WHERE post_id = ?', [Number(bobPost)]),
        await rows('SELECT * FROM sessions WHERE user_id = ?', [Number(bob.id)]),
        await rows('SELECT user_id, post_id FROM likes WHERE user_id = ?', [Number(bob.id)]),
        await rows('SELECT follower_id, followee_id FROM follows WHERE follower_id = ?', [Number(bob.id)]),
        await rows('SELECT id, text, author_id FROM posts WHERE id = ?', [Number(hiddenPost)]),
      ].join('\n')

    type Case = { method: string; path: string; body?: unknown; status: number; code?: string }
    const cases: Record<string, Case[] | 'self-only' | 'no-auth'> = {
      'PATCH /api/v1/posts/{id}': [
        {
          method: 'PATCH',
          path: `/api/v1/posts/${bobPost}`,
          body: { text: 'mine now' },
          status: 403,
          code: 'forbidden',
        },
        { method: 'PATCH', path: `/api/v1/posts/${hiddenPost}`, body: { text: 'x' }, status: 404, code: 'not_found' },
      ],
      'DELETE /api/v1/posts/{id}': [
        { method: 'DELETE', path: `/api/v1/posts/${bobPost}`, status: 403, code: 'forbidden' },
        { method: 'DELETE', path: `/api/v1/posts/${hiddenPost}`, status: 404, code: 'not_found' },
      ],
      'DELETE /api/v1/auth/sessions/{id}': [
        { method: 'DELETE', path: `/api/v1/auth/sessions/${bobSession}`, status: 404, code: 'not_found' },
      ],
      'PATCH /api/v1/admin/users/{username}': [
        {
          method: 'PATCH',
          path: `/api/v1/admin/users/${bob.username}`,
          body: { role: 'admin' },
          status: 403,
          code: 'forbidden',
        },
        {
          method: 'PATCH',
          path: `/api/v1/admin/users/${bob.username}`,
          body: { disabled: true },
          status: 403,
          code: 'forbidden',
        },
      ],
      // Alice's like and follow are her own rows: unliking or unfollowing never touches Bob's.
      'PUT /api/v1/posts/{id}/like': [
        { method: 'PUT', path: `/api/v1/posts/${hiddenPost}/like`, status: 404, code: 'not_found' },
      ],
      'DELETE /api/v1/posts/{id}/like': [
        { method: 'DELETE', path: `/api/v1/posts/${hiddenPost}/like`, status: 404, code: 'not_found' },
        { method: 'DELETE', path: `/api/v1/posts/${bobPost}/like`, status: 200 },
      ],
      'PUT /api/v1/users/{username}/follow': [
        { method: 'PUT', path: `/api/v1/users/${hidden.username}/follow`, status: 404, code: 'not_found' },
      ],
      'DELETE /api/v1/users/{username}/follow': [
        { method: 'DELETE', path: `/api/v1/users/${hidden.username}/follow`, status: 404, code: 'not_found' },
        { method: 'DELETE', path: `/api/v1/users/${carol.username}/follow`, status: 200 },
      ],
      'POST /api/v1/posts': [
        {
          method: 'POST',
          path: '/api/v1/posts',
          body: { text: 'reply', reply_to_id: hiddenPost },
          status: 422,
          code: 'validation_failed',
        },
      ],
      'PATCH /api/v1/users/me': 'self-only',
      'DELETE /api/v1/users/me': 'self-only',
      'POST /api/v1/auth/password': 'self-only',
      'POST /api/v1/auth/logout': 'self-only',
      'POST /api/v1/auth/logout-all': 'self-only',
      'POST /api/v1/auth/verify-email/request': 'self-only',
      // Anonymous routes: what they touch is named by a secret the caller must hold.
      'POST /api/v1/auth/register': 'no-auth',
      'POST /api/v1/auth/token': 'no-auth',
      'POST /api/v1/auth/refresh': 'no-auth',
      'POST /api/v1/auth/verify-email': 'no-auth',
      'POST /api/v1/auth/password-reset/request': 'no-auth',
      'POST /api/v1/auth/password-reset': 'no-auth',
    }
    // Every mutating operation of the document is classified: a new one fails here until it is.
    const mutating = api.operations.filter((o) => o.method !== 'GET').map((o) => o.key)
    expect(mutating.filter((k) => !(k in cases))).toEqual([])

    const before = await bobRows()
    for (const [key, list] of Object.entries(cases)) {
      if (!Array.isArray(list)) continue
      for (const c of list) {
        const res = await ctx.call(c.method, c.path, { token: alice.token, ...(c.body ? { body: c.body } : {}) })
        if (res.status !== c.status || (c.code && res.body?.code !== c.code))
          throw new Error(`${key} ${c.path}: expected ${c.status} ${c.code ?? ''}, got ${res.status} ${res.text}`)
        expect(await bobRows()).toBe(before)
      }
    }
    // Non-admins get 403 on reading the admin list too.
    expectProblem(await ctx.call('GET', '/api/v1/admin/users', { token: alice.token }), 403, 'forbidden')
    // An admin cannot lock themselves out.
    expectProblem(
      await ctx.call('PATCH', `/api/v1/admin/users/${admin.username}`, { token: admin.token, body: { role: 'user' } }),
      403,
      'forbidden',
    )

    // The self-only routes, run by Alice to the end: Bob's rows stay as they were.
    await ctx.call('PATCH', '/api/v1/users/me', { token: alice.token, body: { bio: 'new' } })
    await ctx.call('POST', '/api/v1/auth/verify-email/request', { token: alice.token })
    await ctx.call('POST', '/api/v1/auth/password', {
      token: alice.token,
      body: { current_password: alice.password, new_password: 'alice new password' },
    })
    await ctx.call('POST', '/api/v1/auth/logout-all', {
      token: (await login({ ...alice, password: 'alice new password' })).token,
    })
    const last = await login({ ...alice, password: 'alice new password' })
    await ctx.call('POST', '/api/v1/auth/logout', { token: last.token })
    const final = await login({ ...alice, password: 'alice new password' })
    expect(
      (await ctx.call('DELETE', '/api/v1/users/me', { token: final.token, body: { password: 'alice new password' } }))
        .status,
    ).toBe(204)
    expect(await bobRows()).toBe(before)
  })
})

describe('CORS from a foreign origin', () => {
  const origin = 'https://evil.example'
  const check = async (c: typeof ctx, label: string) => {
    const leaks: string[] = []
    for (const op of api.operations) {
      const path = op.path.replace(/\{[^}]+\}/g, '1')
      const simple = await c.call(op.method, path, { headers: { origin } })
      const preflight = await c.call('OPTIONS', path, {
        headers: {
          origin,
          'access-control-request-method': op.method,
          'access-control-request-headers': 'authorization, content-type',
        },
      })
      for (const [kind, res] of [
        ['request', simple],
        ['preflight', preflight],
      ] as Array<[string, CallResult]>) {
        if (
          res.headers.get('access-control-allow-origin') !== null ||
          res.headers.get('access-control-allow-credentials')
        )
          leaks.push(`${label} ${kind} ${op.key}: ${res.headers.get('access-control-allow-origin')}`)
      }
    }
    expect(leaks).toEqual([])
  }

  test('no Access-Control-Allow-Origin on any route or preflight, by default', async () => {
    await check(ctx, 'default')
  })

  test('nor with an allowlist that does not name the origin', async () => {
    await check(await createTestContext({ CORS_ORIGINS: 'https://app.example.com' }), 'allowlist')
  })
})

describe('secrets never reach the logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pamps-logs-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('a real server at LOG_LEVEL=info logs no password, token or secret through a whole account lifecycle', async () => {
    const jwtSecret = 'log-test-secret-log-test-secret-log-test-secret'
    const { proc, base, output, drained } = await startServerProcess({
      NODE_ENV: 'production',
      DATABASE_URL: `file:${join(dir, 'logs.db')}`,
      JWT_SECRET: jwtSecret,
      PASSWORD_MEMORY_COST: '1024',
      PASSWORD_TIME_COST: '1',
      // Delivery fails (nothing listens there): the outbox logs the failure, never the mail's link.
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: 'smtp://127.0.0.1:9',
    })
    const secrets: string[] = [jwtSecret]
    const req = async (method: string, path: string, body?: unknown, token?: string, form?: boolean) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(body !== undefined
            ? { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }
            : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body:
          body === undefined
            ? undefined
            : form
              ? new URLSearchParams(body as Record<string, string>)
              : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    }
    try {
      const password = 'Hunter2-correct-horse'
      const newPassword = 'Hunter3-battery-staple'
      secrets.push(password, newPassword, 'wrong-password-xyz')
      const reg = await req('POST', '/api/v1/auth/register', {
        username: 'logged',
        email: 'logged@example.com',
        password,
      })
      expect(reg.status).toBe(201)
      secrets.push(reg.body.access_token, reg.body.refresh_token)
      const bad = await req('POST', '/api/v1/auth/token', {
        grant_type: 'password',
        username: 'logged',
        password: 'wrong-password-xyz',
      })
      expect(bad.status).toBe(401)
      const form = await req(
        'POST',
        '/api/v1/auth/token',
        { grant_type: 'password', username: 'logged', password },
        undefined,
        true,
      )
      expect(form.status).toBe(200)
      secrets.push(form.body.access_token, form.body.refresh_token)
      const refreshed = await req('POST', '/api/v1/auth/refresh', { refresh_token: form.body.refresh_token })
      secrets.push(refreshed.body.access_token, refreshed.body.refresh_token)
      // Reuse of a rotated refresh token, a token in a bad header, a token where a password belongs.
      await req('POST', '/api/v1/auth/refresh', { refresh_token: form.body.refresh_token })
      await req('GET', '/api/v1/users/me', undefined, `${reg.body.access_token}x`)
      await req('POST', '/api/v1/auth/register', {
        username: 'x',
        email: 'bad',
        password: reg.body.refresh_token,
        extra: password,
      })
      await req('GET', '/api/v1/users/me', undefined, reg.body.access_token)
      await req('POST', '/api/v1/posts', { text: 'a post' }, reg.body.access_token)
      await req(
        'POST',
        '/api/v1/auth/password',
        { current_password: password, new_password: newPassword },
        reg.body.access_token,
      )
      await req('POST', '/api/v1/auth/password-reset/request', { email: 'logged@example.com' })
      await req('POST', '/api/v1/auth/verify-email/request', undefined, reg.body.access_token)
      await req('POST', '/api/v1/auth/password-reset', { token: 'guessed-token-1234567890', new_password: newPassword })
      await req('DELETE', '/api/v1/users/me', { password: 'wrong-password-xyz' }, reg.body.access_token)
      // A response that fails its own schema (an address stored by some other writer that the
      // PrivateUser format rejects) is a 500 whose log line names the field, not the value.
      const other = createClient({ url: `file:${join(dir, 'logs.db')}` })
      await other.execute('PRAGMA busy_timeout = 5000')
      await other.execute("UPDATE users SET email = 'odd@mail.!}#' WHERE username = 'logged'")
      other.close()
      secrets.push('odd@mail.!}#')
      expect((await req('GET', '/api/v1/users/me', undefined, reg.body.access_token)).status).toBe(500)
      await req('POST', '/api/v1/auth/logout', undefined, reg.body.access_token)
      // Let the outbox try (and fail) to deliver the two mails.
      await Bun.sleep(300)
    } finally {
      proc.kill('SIGTERM')
      await proc.exited
      await drained
    }
    const logs = output()
    if (process.env.SHOW_LOGS) console.log(logs)
    const lines = logs.split('\n').filter(Boolean)
    // The logs are there (so their silence about secrets means something), one request line each.
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(15)
    // The mailed link tokens are stored hashed; read the mails' own text to check those too.
    const mailed = createClient({ url: `file:${join(dir, 'logs.db')}` })
    for (const r of (await mailed.execute('SELECT text_body FROM outbox')).rows) {
      const token = /token=([A-Za-z0-9_-]+)/.exec(String(r.text_body))?.[1]
      if (token) secrets.push(token)
    }
    mailed.close()
    expect(secrets.length).toBeGreaterThanOrEqual(12)
    const found: string[] = []
    for (const s of secrets) {
      if (logs.includes(s)) found.push(s.slice(0, 12))
      // A JWT's signature alone is enough to forge nothing, but it is still the token's secret part.
      const signature = s.split('.')[2]
      if (signature && logs.includes(signature)) found.push(`signature of ${s.slice(0, 12)}`)
    }
    expect(found).toEqual([])
  }, 30_000)
})

import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { httpCore } from '../src/http/core'
import { createUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext({ BODY_LIMIT: '4096' })

interface Operation {
  method: string
  path: string
  json: boolean
}

async function operations(): Promise<Operation[]> {
  const doc = (await ctx.call('GET', '/docs/json')).body
  const out: Operation[] = []
  for (const [path, item] of Object.entries<Record<string, { requestBody?: { content?: Record<string, unknown> } }>>(
    doc.paths,
  ))
    for (const [method, op] of Object.entries(item))
      out.push({
        method: method.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, '1'),
        json: Boolean(op.requestBody?.content?.['application/json']),
      })
  return out
}

describe('problem+json for every error', () => {
  test('malformed JSON on every route that takes JSON → 400 malformed_json', async () => {
    const ops = (await operations()).filter((o) => o.json)
    expect(ops.length).toBeGreaterThan(5)
    for (const op of ops) {
      const res = await ctx.call(op.method, op.path, { raw: '{bad', headers: { 'content-type': 'application/json' } })
      if (res.status !== 400 || res.body?.code !== 'malformed_json')
        throw new Error(`${op.method} ${op.path}: ${res.status} ${res.text}`)
      expectProblem(res, 400, 'malformed_json')
    }
  })

  test('a body of another media type → 415 on every route that takes JSON', async () => {
    for (const op of (await operations()).filter((o) => o.json && !o.path.endsWith('/auth/token'))) {
      const res = await ctx.call(op.method, op.path, { raw: 'hello', headers: { 'content-type': 'text/plain' } })
      if (res.status !== 415) throw new Error(`${op.method} ${op.path}: ${res.status} ${res.text}`)
      expectProblem(res, 415, 'unsupported_media_type')
    }
  })

  test('form bodies are for the token endpoint only', async () => {
    const res = await ctx.call('POST', '/api/v1/auth/register', {
      raw: 'username=abc&email=a@b.co&password=password123',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expectProblem(res, 415, 'unsupported_media_type')
  })

  test('a body over the limit → 413, declared or chunked', async () => {
    const big = JSON.stringify({ username: 'x'.repeat(5000) })
    const declared = await ctx.call('POST', '/api/v1/auth/register', {
      raw: big,
      headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
    })
    expectProblem(declared, 413, 'payload_too_large')
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big))
        c.close()
      },
    })
    const res = await ctx.app.handle(
      new Request('http://localhost/api/v1/auth/register', {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
      }),
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toStartWith('application/problem+json')
  })

  test('unknown route → 404; wrong method → 405 with Allow', async () => {
    expectProblem(await ctx.call('GET', '/nope'), 404, 'not_found')
    expectProblem(await ctx.call('GET', '/api/v1/nope/deeper'), 404, 'not_found')
    const wrong = await ctx.call('DELETE', '/health')
    expectProblem(wrong, 405, 'method_not_allowed')
    expect(wrong.headers.get('allow')).toContain('GET')
    const wrong2 = await ctx.call('PUT', '/api/v1/auth/register', { body: {} })
    expectProblem(wrong2, 405, 'method_not_allowed')
    expect(wrong2.headers.get('allow')).toBe('POST')
  })

  test('validation errors name each field and do not echo the input back', async () => {
    const res = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'UPPER case!', email: 'secret-value@', password: 'x' },
    })
    const problem = expectProblem(res, 422, 'validation_failed')
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'password', 'username'])
    expect(res.text).not.toContain('secret-value')
    expect(res.text).not.toContain('UPPER case!')
  })

  test('an unexpected exception → 500 internal with no stack, SQL or message', async () => {
    const app = new Elysia({ normalize: false })
      .use(httpCore({ logger: ctx.logger, bodyLimit: 1024, formPaths: new Set(), routes: () => [] }))
      .get('/boom', () => {
        throw new Error('SELECT secret FROM users — at /src/modules/x.ts:1')
      })
    const res = await app.handle(new Request('http://localhost/boom'))
    const body = (await res.json()) as { code: string; request_id: string }
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    expect(body.code).toBe('internal')
    expect(body.request_id).toBe(res.headers.get('x-request-id') ?? 'missing')
    expect(JSON.stringify(body)).not.toContain('SELECT')
    expect(JSON.stringify(body)).not.toContain('.ts')
  })

  test('a response that does not match its schema is a 500, never a leak', async () => {
    const u = await createUser(ctx)
    // The PrivateUser schema is strict: an extra column would fail validation, not reach the client.
    const me = await ctx.call('GET', '/api/v1/users/me', { token: u.token })
    expect(Object.keys(me.body).sort()).toEqual(
      [
        'avatar_url',
        'bio',
        'created_at',
        'disabled',
        'display_name',
        'email',
        'email_verified',
        'followers_count',
        'following_count',
        'id',
        'posts_count',
        'role',
        'username',
      ].sort(),
    )
  })
})

describe('CORS', () => {
  test('no Access-Control-Allow-Origin for a foreign origin by default', async () => {
    const res = await ctx.call('GET', '/health', { headers: { origin: 'https://evil.example' } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([])
  })

  test('an allowlisted origin is reflected without credentials; others are not', async () => {
    const other = await createTestContext({ CORS_ORIGINS: 'https://app.example.com' })
    const ok = await other.call('GET', '/health', { headers: { origin: 'https://app.example.com' } })
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull()
    const bad = await other.call('GET', '/health', { headers: { origin: 'https://evil.example' } })
    expect(bad.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('a list page (a Response the route builds itself)', () => {
  test('carries the request id, the security headers, CORS, Link and a JSON content type, each once', async () => {
    const other = await createTestContext({ CORS_ORIGINS: 'https://app.example.com' })
    const author = await createUser(other)
    for (let i = 0; i < 3; i++)
      await other.call('POST', '/api/v1/posts', { token: author.token, body: { text: `p${i}` } })
    for (const path of ['/api/v1/posts?limit=2', `/api/v1/users/${author.username}/posts?limit=2`]) {
      const res = await other.call('GET', path, {
        headers: { origin: 'https://app.example.com', 'x-request-id': 'list-page-1' },
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-request-id')).toBe('list-page-1')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('link')).toMatch(/^<\/api\/v1\/.+[?&]cursor=[A-Za-z0-9_-]+>; rel="next"$/)
      expect(res.body.items).toHaveLength(2)
    }
    // The next request starts with none of the last one's headers.
    const last = await other.call('GET', '/api/v1/posts?limit=50')
    expect(last.headers.get('link')).toBeNull()
    expect(last.headers.get('x-request-id')).not.toBe('list-page-1')
  })
})

describe('OpenAPI document', () => {
  test('is OpenAPI 3 with a bearer scheme, the problem schema and every served route', async () => {
    const doc = (await ctx.call('GET', '/docs/json')).body
    expect(doc.openapi).toStartWith('3.')
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.components.schemas.Problem.properties.code).toBeDefined()
    const documented = new Set<string>()
    for (const [path, item] of Object.entries<object>(doc.paths))
      for (const method of Object.keys(item))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`)
    const served = ctx.app.routes
      .filter((r) => !['/docs', '/docs/json', '*'].includes(r.path) && r.method !== 'OPTIONS')
      .map((r) => `${r.method} ${r.path}`)
    for (const route of served) expect(documented).toContain(route)
    const me = doc.paths['/api/v1/users/me'].get
    expect(me.security).toEqual([{ bearer: [] }])
    expect(me.responses['401'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    })
    // Bodies are JSON only, but for OAuth's token endpoint, which also takes a form.
    for (const item of Object.values<Record<string, { requestBody?: { content: object } }>>(doc.paths))
      for (const op of Object.values(item))
        if (op.requestBody) expect(Object.keys(op.requestBody.content)).toContain('application/json')
    expect(Object.keys(doc.paths['/api/v1/auth/token'].post.requestBody.content).sort()).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ])
    expect(Object.keys(doc.paths['/api/v1/users/me'].patch.requestBody.content)).toEqual(['application/json'])
    expect(Object.keys(doc.paths['/api/v1/users/me'].patch.responses)).toEqual(
      expect.arrayContaining(['400', '401', '413', '415', '422', '429', '500', '503']),
    )
  })

  test('/docs serves HTML', async () => {
    const res = await ctx.app.handle(new Request('http://localhost/docs'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
  })
})

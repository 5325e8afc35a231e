import { describe, expect, test } from 'bun:test'
import { createUser, makeAdmin } from './factories'
import { type CallInit, type CallResult, createTestContext, type TestContext } from './helpers'
import { type Mismatch, OpenApi } from './openapi'

// Every response of a scripted session that exercises every documented operation (success and
// the usual failures) is validated against the OpenAPI document the app serves on /docs/json.

const ctx = await createTestContext()
const api = new OpenApi((await ctx.call('GET', '/docs/json')).body)

interface Recorded {
  method: string
  path: string
  res: CallResult
}
const recorded: Recorded[] = []
const call = async (method: string, path: string, init?: CallInit) => {
  const res = await ctx.call(method, path, init)
  recorded.push({ method, path, res })
  return res
}
const c: TestContext = { ...ctx, call }
const form = (fields: Record<string, string>) => ({
  raw: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
})

/** The link token of the newest mail to `email`, read from the outbox (the console transport is not started). */
async function mailedToken(email: string): Promise<string> {
  const row = await ctx.database.client.execute({
    sql: 'SELECT text_body FROM outbox WHERE to_address = ? ORDER BY id DESC LIMIT 1',
    args: [email],
  })
  const token = /token=([A-Za-z0-9_-]+)/.exec(String(row.rows[0]?.text_body ?? ''))?.[1]
  if (!token) throw new Error(`no mail to ${email}`)
  return token
}

async function session() {
  const alice = await createUser(c, { display_name: 'Alice' })
  const bob = await createUser(c)
  const carol = await createUser(c)
  await makeAdmin(c, carol)
  const at = alice.token
  const bt = bob.token

  await call('GET', '/health')
  await call('GET', '/ready')
  await call('GET', '/metrics')

  // auth
  await call('POST', '/api/v1/auth/register', {
    body: { username: alice.username, email: 'x@example.com', password: 'password123' },
  })
  await call('POST', '/api/v1/auth/register', { body: { username: 'X', email: 'nope', password: 'short' } })
  await call('POST', '/api/v1/auth/register', { raw: '{', headers: { 'content-type': 'application/json' } })
  await call('POST', '/api/v1/auth/register', { raw: 'hello', headers: { 'content-type': 'text/plain' } })
  const login = await call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: alice.username, password: alice.password },
  })
  await call(
    'POST',
    '/api/v1/auth/token',
    form({ grant_type: 'password', username: alice.email, password: alice.password }),
  )
  await call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: alice.username, password: 'wrong!!' },
  })
  await call('POST', '/api/v1/auth/token', form({ grant_type: 'client_credentials' }))
  const refreshed = await call('POST', '/api/v1/auth/refresh', { body: { refresh_token: login.body.refresh_token } })
  await call('POST', '/api/v1/auth/refresh', { body: { refresh_token: login.body.refresh_token } })
  await call('POST', '/api/v1/auth/token', form({ grant_type: 'refresh_token', refresh_token: alice.refreshToken }))
  const sessions = await call('GET', '/api/v1/auth/sessions', { token: at })
  await call('GET', '/api/v1/auth/sessions')
  const other = await call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: alice.username, password: alice.password },
  })
  const others = await call('GET', '/api/v1/auth/sessions', { token: other.body.access_token })
  const otherId = others.body.items.find((s: { current: boolean }) => s.current).id
  await call('DELETE', `/api/v1/auth/sessions/${otherId}`, { token: at })
  await call('DELETE', '/api/v1/auth/sessions/nope', { token: at })
  expect(sessions.status).toBe(200)
  expect(refreshed.status).toBe(200)

  await call('POST', '/api/v1/auth/verify-email/request', { token: at })
  await call('POST', '/api/v1/auth/verify-email', { body: { token: 'not-a-token' } })
  await call('POST', '/api/v1/auth/verify-email', { body: { token: await mailedToken(alice.email) } })
  await call('POST', '/api/v1/auth/verify-email/request', { token: at })
  await call('POST', '/api/v1/auth/password-reset/request', { body: { email: bob.email } })
  await call('POST', '/api/v1/auth/password-reset/request', { body: { email: 'unknown@example.com' } })
  await call('POST', '/api/v1/auth/password-reset', { body: { token: 'nope', new_password: 'new password 1' } })
  await call('POST', '/api/v1/auth/password-reset', {
    body: { token: await mailedToken(bob.email), new_password: 'bob new password' },
  })
  // Bob's sessions ended with the reset: sign in again.
  const bobLogin = await call('POST', '/api/v1/auth/token', {
    body: { grant_type: 'password', username: bob.username, password: 'bob new password' },
  })
  const bt2 = bobLogin.body.access_token as string
  expect(bt).not.toBe(bt2)
  await call('POST', '/api/v1/auth/password', {
    token: at,
    body: { current_password: 'wrong one', new_password: 'another password' },
  })
  await call('POST', '/api/v1/auth/password', {
    token: at,
    body: { current_password: alice.password, new_password: 'another password' },
  })

  // users
  await call('GET', '/api/v1/users/me', { token: at })
  await call('GET', '/api/v1/users/me')
  await call('PATCH', '/api/v1/users/me', {
    token: at,
    body: { display_name: 'Alice A.', bio: 'hi', avatar_url: 'https://example.com/a.png' },
  })
  await call('PATCH', '/api/v1/users/me', { token: at, body: { role: 'admin' } })
  await call('GET', '/api/v1/users?q=user&limit=2')
  await call('GET', '/api/v1/users?limit=0')
  await call('GET', `/api/v1/users/${alice.username}`, { token: bt2 })
  await call('GET', `/api/v1/users/${alice.username}`)
  await call('GET', '/api/v1/users/nobody_at_all')
  await call('PUT', `/api/v1/users/${alice.username}/follow`, { token: bt2 })
  await call('PUT', `/api/v1/users/${alice.username}/follow`, { token: at })
  await call('PUT', '/api/v1/users/nobody_at_all/follow', { token: at })
  await call('PUT', `/api/v1/users/${bob.username}/follow`, { token: at })
  await call('DELETE', `/api/v1/users/${bob.username}/follow`, { token: at })
  await call('DELETE', '/api/v1/users/nobody_at_all/follow', { token: at })
  await call('GET', `/api/v1/users/${alice.username}/followers?limit=1`, { token: at })
  await call('GET', `/api/v1/users/${bob.username}/following`)
  await call('GET', '/api/v1/users/nobody_at_all/followers')
  await call('GET', '/api/v1/users/nobody_at_all/following')

  // posts
  const p1 = await call('POST', '/api/v1/posts', { token: at, body: { text: 'first post' } })
  const p2 = await call('POST', '/api/v1/posts', {
    token: at,
    body: { text: 'second' },
    headers: { 'idempotency-key': 'k1' },
  })
  await call('POST', '/api/v1/posts', { token: at, body: { text: 'second' }, headers: { 'idempotency-key': 'k1' } })
  await call('POST', '/api/v1/posts', { token: at, body: { text: 'other' }, headers: { 'idempotency-key': 'k1' } })
  await call('POST', '/api/v1/posts', { token: at, body: { text: '' } })
  await call('POST', '/api/v1/posts', { body: { text: 'anonymous' } })
  const reply = await call('POST', '/api/v1/posts', { token: bt2, body: { text: 'a reply', reply_to_id: p1.body.id } })
  await call('POST', '/api/v1/posts', { token: bt2, body: { text: 'a reply', reply_to_id: '999999' } })
  const id = p1.body.id as string
  await call('GET', '/api/v1/posts?limit=1')
  await call('GET', '/api/v1/posts?include_replies=true', { token: at })
  await call('GET', '/api/v1/posts?cursor=forged')
  await call('GET', `/api/v1/posts/${id}`, { token: bt2 })
  await call('GET', '/api/v1/posts/999999')
  await call('GET', `/api/v1/posts/${id}/replies`)
  await call('GET', '/api/v1/posts/999999/replies')
  await call('GET', `/api/v1/posts/${reply.body.id}/context`, { token: at })
  await call('GET', '/api/v1/posts/999999/context')
  await call('PATCH', `/api/v1/posts/${id}`, { token: at, body: { text: 'first post, edited' } })
  await call('PATCH', `/api/v1/posts/${id}`, { token: bt2, body: { text: 'not mine' } })
  await call('PATCH', '/api/v1/posts/999999', { token: at, body: { text: 'x' } })
  await call('PATCH', `/api/v1/posts/${id}`, { token: at, body: { text: 'x', likes_count: 9 } })
  await call('GET', `/api/v1/posts/${id}/history`)
  await call('GET', '/api/v1/posts/999999/history')
  await call('PUT', `/api/v1/posts/${id}/like`, { token: bt2 })
  await call('PUT', `/api/v1/posts/${id}/like`, { token: at })
  await call('PUT', '/api/v1/posts/999999/like', { token: at })
  await call('GET', `/api/v1/posts/${id}/likes`, { token: at })
  await call('GET', '/api/v1/posts/999999/likes')
  await call('GET', `/api/v1/users/${bob.username}/likes`)
  await call('GET', '/api/v1/users/nobody_at_all/likes')
  await call('GET', `/api/v1/users/${alice.username}/posts?include_replies=false`)
  await call('GET', '/api/v1/users/nobody_at_all/posts')
  await call('DELETE', `/api/v1/posts/${id}/like`, { token: at })
  await call('DELETE', '/api/v1/posts/999999/like', { token: at })
  await call('GET', '/api/v1/timeline', { token: bt2 })
  await call('GET', '/api/v1/timeline')
  await call('DELETE', `/api/v1/posts/${p2.body.id}`, { token: bt2 })
  await call('DELETE', `/api/v1/posts/${p2.body.id}`, { token: at })
  await call('DELETE', '/api/v1/posts/999999', { token: at })

  // admin
  await call('GET', '/api/v1/admin/users', { token: at })
  await call('GET', '/api/v1/admin/users?q=user&limit=2', { token: carol.token })
  await call('PATCH', `/api/v1/admin/users/${bob.username}`, { token: carol.token, body: { disabled: true } })
  await call('PATCH', `/api/v1/admin/users/${bob.username}`, { token: carol.token, body: { disabled: false } })
  await call('PATCH', '/api/v1/admin/users/nobody_at_all', { token: carol.token, body: { role: 'admin' } })
  await call('PATCH', `/api/v1/admin/users/${bob.username}`, { token: carol.token, body: { role: 'root' } })
  await call('PATCH', `/api/v1/admin/users/${bob.username}`, { token: at, body: { role: 'admin' } })

  // the end of sessions and accounts (disabling Bob ended his sessions: he signs in again)
  const bt3 = (
    await call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: bob.username, password: 'bob new password' },
    })
  ).body.access_token
  await call('DELETE', '/api/v1/users/me', { token: bt3, body: { password: 'wrong' } })
  await call('DELETE', '/api/v1/users/me', { token: bt3, body: { password: 'bob new password' } })
  await call('POST', '/api/v1/auth/logout', { token: at })
  await call('POST', '/api/v1/auth/logout', { token: at })
  await call('POST', '/api/v1/auth/logout-all', { token: carol.token })
}

describe('responses match the OpenAPI document', () => {
  test('every response of a session using every operation conforms to its documented status and schema', async () => {
    await session()
    const mismatches: Mismatch[] = []
    const undocumentedRequests: string[] = []
    const succeeded = new Set<string>()
    for (const { method, path, res } of recorded) {
      const op = api.match(method, path)
      if (!op) {
        undocumentedRequests.push(`${method} ${path}`)
        continue
      }
      if (res.status < 300) succeeded.add(op.key)
      mismatches.push(...api.check(op, res.status, res.headers.get('content-type'), res.text))
      if (res.status >= 400) expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    }
    expect(undocumentedRequests).toEqual([])
    expect(mismatches).toEqual([])
    // Every documented operation answered with success at least once, so each 2xx schema was checked.
    const never = api.operations.map((o) => o.key).filter((k) => !succeeded.has(k))
    expect(never).toEqual([])
    expect(recorded.length).toBeGreaterThan(100)
  })

  test("the document's operations are exactly the routes served", async () => {
    const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p).replace(/:([^/]+)/g, '{$1}')
    const documented = new Set(api.operations.map((o) => `${o.method} ${norm(o.path)}`))
    const served = new Set(
      ctx.app.routes
        // The documentation's own pages are not API operations; `*` is no route.
        .filter((r) => !['/docs', '/docs/json', '*'].includes(r.path) && r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${norm(r.path)}`),
    )
    expect([...documented].filter((k) => !served.has(k))).toEqual([])
    expect([...served].filter((k) => !documented.has(k))).toEqual([])
    // And each documented operation is really answered by a route (not the 404/405 fallback).
    for (const op of api.operations) {
      const path = op.path.replace(/\{[^}]+\}/g, 'x1')
      const res = await ctx.call(op.method, path)
      const fallback = res.status === 405 || (res.status === 404 && /No route matches/.test(res.body?.detail ?? ''))
      if (fallback) throw new Error(`${op.key} is documented but not served: ${res.status} ${res.text}`)
    }
  })
})

describe('the validator itself', () => {
  test('rejects what departs from the document: a missing field, a wrong type, an undocumented status', () => {
    const op = api.find('GET /api/v1/posts/{id}')
    const post = {
      id: '1',
      text: 'x',
      author: { id: '1', username: 'a', display_name: 'a', avatar_url: null },
      reply_to_id: null,
      created_at: '2026-11-23T03:00:00.000Z',
      edited_at: null,
      likes_count: 0,
      replies_count: 0,
    }
    expect(api.check(op, 200, 'application/json', JSON.stringify(post))).toEqual([])
    const { likes_count: _, ...missing } = post
    expect(api.check(op, 200, 'application/json', JSON.stringify(missing))).not.toEqual([])
    expect(api.check(op, 200, 'application/json', JSON.stringify({ ...post, created_at: 'yesterday' }))).not.toEqual([])
    expect(api.check(op, 200, 'application/json', JSON.stringify({ ...post, id: 1 }))).not.toEqual([])
    expect(api.check(op, 418, 'application/problem+json', '{}')[0]?.problem).toBe('status not documented')
    expect(api.check(op, 404, 'application/problem+json', '{"status":404}')).not.toEqual([])
  })
})

import { describe, expect, test } from 'bun:test'
import { createUser, makeAdmin } from './factories'
import { createTestContext, expectProblem } from './helpers'

// The wire conventions of api-v1.md that every route shares: unknown query parameters ignored,
// strings bounded in characters (code points), canonical paths, 405 with Allow.

const ctx = await createTestContext()
const alice = await createUser(ctx, { display_name: 'Alice' })
const bob = await createUser(ctx)
await makeAdmin(ctx, bob)
const post = (await ctx.call('POST', '/api/v1/posts', { token: alice.token, body: { text: 'hello' } })).body
await ctx.call('PATCH', `/api/v1/posts/${post.id}`, { token: alice.token, body: { text: 'hello again' } })
const sessionId = (await ctx.call('GET', '/api/v1/auth/sessions', { token: alice.token })).body.items[0].id

/** A concrete path for a route pattern, with real resources for its parameters. */
const concrete = (pattern: string) =>
  pattern.replace(':id', pattern.includes('/sessions/') ? sessionId : post.id).replace(':username', alice.username)

/** Every GET route of the API, as the app serves it. */
const getRoutes = ctx.app.routes.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/')).map((r) => r.path)

const emoji = (n: number) => '😀'.repeat(n)

describe('unknown query parameters', () => {
  test('are ignored on every GET route: the answer is the one without them', async () => {
    expect(getRoutes.length).toBeGreaterThan(10)
    for (const route of getRoutes) {
      const path = concrete(route)
      const plain = await ctx.call('GET', path, { token: bob.token })
      const busted = await ctx.call('GET', `${path}?_=1700000000&utm_source=x&max_id=5`, { token: bob.token })
      expect(`${route} ${busted.status}`).toBe(`${route} ${plain.status}`)
      expect(plain.status).toBeLessThan(300)
    }
  })

  test('a known one with a bad value is still 422, whatever else comes with it', async () => {
    expectProblem(await ctx.call('GET', '/api/v1/posts?_=123&limit=0'), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', '/api/v1/posts?_=123&include_replies=maybe'), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', '/api/v1/users?_=1&cursor=forged'), 422, 'validation_failed')
  })
})

describe('strings are bounded in characters (code points), not UTF-16 units', () => {
  const patchMe = (body: Record<string, unknown>) => ctx.call('PATCH', '/api/v1/users/me', { token: alice.token, body })

  test('bio: 300 emoji accepted, 301 rejected and nothing changes', async () => {
    const ok = await patchMe({ bio: emoji(300) })
    expect(ok.status).toBe(200)
    expect([...ok.body.bio].length).toBe(300)
    const over = expectProblem(await patchMe({ bio: emoji(301) }), 422, 'validation_failed')
    expect(over.errors[0].field).toBe('bio')
    expect((await ctx.call('GET', '/api/v1/users/me', { token: alice.token })).body.bio).toBe(emoji(300))
  })

  test('display_name: 50 emoji accepted, 51 rejected', async () => {
    expect((await patchMe({ display_name: emoji(50) })).status).toBe(200)
    expect(expectProblem(await patchMe({ display_name: emoji(51) }), 422, 'validation_failed').errors[0].field).toBe(
      'display_name',
    )
  })

  test('avatar_url: 2,048 characters with emoji accepted, 2,049 rejected', async () => {
    const base = 'https://example.com/'
    expect((await patchMe({ avatar_url: base + emoji(2048 - base.length) })).status).toBe(200)
    const over = await patchMe({ avatar_url: base + emoji(2049 - base.length) })
    expect(expectProblem(over, 422, 'validation_failed').errors[0].field).toBe('avatar_url')
  })

  test('register: password of 128 emoji accepted, 129 rejected; 8 characters minimum counts code points', async () => {
    const register = (suffix: string, fields: Record<string, string>) =>
      ctx.call('POST', '/api/v1/auth/register', {
        body: { username: `chars_${suffix}`, email: `chars_${suffix}@example.com`, password: 'long enough', ...fields },
      })
    expect((await register('p128', { password: emoji(128) })).status).toBe(201)
    expectProblem(await register('p129', { password: emoji(129) }), 422, 'validation_failed')
    // Four emoji are eight UTF-16 units but four characters: too short.
    expectProblem(await register('p4', { password: emoji(4) }), 422, 'validation_failed')
    expect((await register('p8', { password: emoji(8) })).status).toBe(201)
    expect((await register('d50', { display_name: emoji(50) })).status).toBe(201)
    expectProblem(await register('d51', { display_name: emoji(51) }), 422, 'validation_failed')
  })

  test('register: an email of 254 characters accepted, 255 rejected (the email format takes ASCII addresses)', async () => {
    // Domain labels of at most 63 characters, as addresses have them.
    const email = (n: number) => {
      const domain = `${'b'.repeat(60)}.`.repeat(3) + 'c'.repeat(n - 61 - 3 * 61 - 4) + '.com'
      return `${'a'.repeat(60)}@${domain}`
    }
    expect(email(254)).toHaveLength(254)
    const ok = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'chars_e254', email: email(254), password: 'long enough' },
    })
    expect(ok.status).toBe(201)
    const over = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'chars_e255', email: email(255), password: 'long enough' },
    })
    expect(expectProblem(over, 422, 'validation_failed').errors[0].field).toBe('email')
  })

  test('token endpoint: username of 254 characters with emoji is checked (401), 255 rejected (400/422)', async () => {
    const login = (username: string) =>
      ctx.call('POST', '/api/v1/auth/token', { body: { grant_type: 'password', username, password: 'whatever!' } })
    expectProblem(await login(emoji(254)), 401, 'unauthorized')
    expect((await login(emoji(255))).status).toBe(422)
  })

  test('password change: 128 emoji accepted, 129 rejected', async () => {
    const user = await createUser(ctx)
    const change = (current: string, next: string) =>
      ctx.call('POST', '/api/v1/auth/password', {
        token: user.token,
        body: { current_password: current, new_password: next },
      })
    expectProblem(await change(user.password, emoji(129)), 422, 'validation_failed')
    expect((await change(user.password, emoji(128))).status).toBe(204)
    expectProblem(await change(emoji(129), 'another password'), 422, 'validation_failed')
  })

  test('search: q of 100 emoji accepted, 101 rejected (users and admin)', async () => {
    expect((await ctx.call('GET', `/api/v1/users?q=${encodeURIComponent(emoji(100))}`)).status).toBe(200)
    expectProblem(await ctx.call('GET', `/api/v1/users?q=${encodeURIComponent(emoji(101))}`), 422, 'validation_failed')
    const admin = (q: string) => ctx.call('GET', `/api/v1/admin/users?q=${encodeURIComponent(q)}`, { token: bob.token })
    expect((await admin(emoji(100))).status).toBe(200)
    expectProblem(await admin(emoji(101)), 422, 'validation_failed')
  })

  test('post text: 500 emoji accepted, 501 rejected, on create and edit', async () => {
    const create = (text: string) => ctx.call('POST', '/api/v1/posts', { token: alice.token, body: { text } })
    const created = await create(emoji(500))
    expect(created.status).toBe(201)
    expectProblem(await create(emoji(501)), 422, 'validation_failed')
    const edit = (text: string) =>
      ctx.call('PATCH', `/api/v1/posts/${created.body.id}`, { token: alice.token, body: { text } })
    expect((await edit(emoji(499))).status).toBe(200)
    expectProblem(await edit(emoji(501)), 422, 'validation_failed')
  })

  test('mailed tokens and refresh tokens: over the bound in emoji is rejected before any lookup', async () => {
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token: emoji(257) } }),
      422,
      'validation_failed',
    )
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/password-reset', {
        body: { token: emoji(257), new_password: 'long enough' },
      }),
      422,
      'validation_failed',
    )
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: emoji(4097) } }),
      422,
      'validation_failed',
    )
    // At the bound, the value is checked for what it is: no such token.
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token: emoji(256) } }),
      422,
      'validation_failed',
    )
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: emoji(4096) } }),
      401,
      'unauthorized',
    )
  })

  test('account deletion: a password of 129 emoji is rejected, 128 checked (wrong password)', async () => {
    const del = (password: string) => ctx.call('DELETE', '/api/v1/users/me', { token: alice.token, body: { password } })
    expectProblem(await del(emoji(129)), 422, 'validation_failed')
    const wrong = expectProblem(await del(emoji(128)), 422, 'validation_failed')
    expect(wrong.errors[0]).toEqual({ field: 'password', message: 'is incorrect' })
  })
})

describe('paths and methods', () => {
  test('a trailing slash answers 308 to the canonical path, query kept; the method and body follow it', async () => {
    const list = await ctx.call('GET', '/api/v1/posts/?limit=5&_=1')
    expect(list.status).toBe(308)
    expect(list.headers.get('location')).toBe('/api/v1/posts?limit=5&_=1')
    expect(list.headers.get('x-request-id')).toBeTruthy()
    const create = await ctx.call('POST', '/api/v1/posts/', { token: alice.token, body: { text: 'slash' } })
    expect(create.status).toBe(308)
    expect(create.headers.get('location')).toBe('/api/v1/posts')
    expect((await ctx.call('GET', `/api/v1/posts/${post.id}/`)).headers.get('location')).toBe(
      `/api/v1/posts/${post.id}`,
    )
    expect((await ctx.call('GET', '/api/v1/timeline/')).headers.get('location')).toBe('/api/v1/timeline')
    // Nothing was created through the redirect itself.
    const mine = await ctx.call('GET', `/api/v1/users/${alice.username}/posts`)
    expect(mine.body.items.some((p: { text: string }) => p.text === 'slash')).toBe(false)
  })

  test('a wrong method on a known path → 405 with Allow; an unknown path → 404', async () => {
    const put = expectProblem(await ctx.call('PUT', '/api/v1/posts', { token: alice.token }), 405, 'method_not_allowed')
    expect(put.detail).toContain('PUT')
    const allow = (await ctx.call('PUT', '/api/v1/posts', { token: alice.token })).headers.get('allow') ?? ''
    expect(allow.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST'])
    const patch = await ctx.call('POST', `/api/v1/posts/${post.id}`)
    expectProblem(patch, 405, 'method_not_allowed')
    expect((patch.headers.get('allow') ?? '').split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH'])
    expect((await ctx.call('DELETE', '/api/v1/timeline')).headers.get('allow')?.split(', ').sort()).toEqual([
      'GET',
      'HEAD',
    ])
    expectProblem(await ctx.call('GET', '/api/v1/nothing-here'), 404, 'not_found')
  })
})

import { describe, expect, test } from 'bun:test'
import { createUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

describe('profiles', () => {
  test('PATCH /users/me updates the profile', async () => {
    const u = await createUser(ctx)
    const res = await ctx.call('PATCH', '/api/v1/users/me', {
      token: u.token,
      body: { display_name: 'Émilie 🌸', bio: 'hello', avatar_url: 'https://cdn.example.com/a.png' },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      display_name: 'Émilie 🌸',
      bio: 'hello',
      avatar_url: 'https://cdn.example.com/a.png',
    })
    const cleared = await ctx.call('PATCH', '/api/v1/users/me', { token: u.token, body: { avatar_url: null } })
    expect(cleared.body.avatar_url).toBeNull()
  })

  test('PATCH /users/me rejects privileged and unknown fields and bounds, changing nothing', async () => {
    const u = await createUser(ctx)
    for (const body of [
      { role: 'admin' },
      { disabled: false },
      { email_verified: true },
      { followers_count: 1000 },
      { bio: 'x'.repeat(301) },
      { display_name: 'x'.repeat(51) },
      { avatar_url: 'javascript:alert(1)' },
      { avatar_url: `https://x.example/${'a'.repeat(2048)}` },
      { display_name: 'ok', role: 'admin' },
    ]) {
      const res = await ctx.call('PATCH', '/api/v1/users/me', { token: u.token, body })
      expectProblem(res, 422, 'validation_failed')
    }
    const me = await ctx.call('GET', '/api/v1/users/me', { token: u.token })
    expect(me.body).toMatchObject({ role: 'user', display_name: u.username, bio: '', avatar_url: null })
    expectProblem(await ctx.call('PATCH', '/api/v1/users/me', { body: { bio: 'x' } }), 401, 'unauthorized')
  })

  test('GET /users/:username is public, case-insensitive and shows no email', async () => {
    const u = await createUser(ctx)
    const res = await ctx.call('GET', `/api/v1/users/${u.username.toUpperCase()}`)
    expect(res.status).toBe(200)
    expect(res.body.username).toBe(u.username)
    expect(res.body.email).toBeUndefined()
    expect(res.body.followed_by_me).toBeUndefined()
    expect(res.text).not.toContain(u.email)
    const authed = await ctx.call('GET', `/api/v1/users/${u.username}`, { token: (await createUser(ctx)).token })
    expect(authed.body).toMatchObject({ followed_by_me: false, follows_me: false })
    expectProblem(await ctx.call('GET', '/api/v1/users/nobody_here'), 404, 'not_found')
    // However long, a name no one has is not found (not a validation error).
    expectProblem(await ctx.call('GET', `/api/v1/users/${'a'.repeat(300)}`), 404, 'not_found')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${'9'.repeat(300)}`), 404, 'not_found')
  })

  test('followed_by_me and follows_me on profiles and in search', async () => {
    const me = await createUser(ctx)
    const them = await createUser(ctx)
    expect((await ctx.call('PUT', `/api/v1/users/${them.username}/follow`, { token: me.token })).status).toBe(200)
    const profile = await ctx.call('GET', `/api/v1/users/${them.username}`, { token: me.token })
    expect(profile.body).toMatchObject({ followed_by_me: true, follows_me: false, followers_count: 1 })
    const reverse = await ctx.call('GET', `/api/v1/users/${me.username}`, { token: them.token })
    expect(reverse.body).toMatchObject({ followed_by_me: false, follows_me: true, following_count: 1 })
    const search = await ctx.call('GET', `/api/v1/users?q=${them.username}`, { token: me.token })
    expect(search.body.items[0]).toMatchObject({ username: them.username, followed_by_me: true, follows_me: false })
  })

  test('GET /users searches by username or display-name prefix, paginated by username', async () => {
    for (const name of ['zed_a', 'zed_b', 'zed_c', 'zed_d', 'zed_e'])
      await createUser(ctx, { username: name, display_name: `Z ${name}` })
    await createUser(ctx, { username: 'other_zed', display_name: 'Zedd Person' })
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const path: string = `/api/v1/users?q=ZED&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = await ctx.call('GET', path)
      expect(page.status).toBe(200)
      seen.push(...page.body.items.map((u: { username: string }) => u.username))
      cursor = page.body.next_cursor
      if (cursor) expect(page.headers.get('link')).toContain('rel="next"')
    } while (cursor)
    expect(seen).toEqual(['other_zed', 'zed_a', 'zed_b', 'zed_c', 'zed_d', 'zed_e'])
    expectProblem(await ctx.call('GET', '/api/v1/users?limit=101'), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', '/api/v1/users?limit=0'), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', '/api/v1/users?cursor=%%%'), 422, 'validation_failed')
    const foreign = Buffer.from(JSON.stringify(['posts', 1])).toString('base64url')
    expectProblem(await ctx.call('GET', `/api/v1/users?cursor=${foreign}`), 422, 'validation_failed')
  })

  test('DELETE /users/me needs the password, then the account and its sessions are gone', async () => {
    const u = await createUser(ctx)
    const wrong = await ctx.call('DELETE', '/api/v1/users/me', { token: u.token, body: { password: 'wrong one' } })
    expectProblem(wrong, 422, 'validation_failed')
    expect((await ctx.call('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
    expect(
      (await ctx.call('DELETE', '/api/v1/users/me', { token: u.token, body: { password: u.password } })).status,
    ).toBe(204)
    const left = await ctx.database.client.execute({
      sql: 'SELECT (SELECT count(*) FROM users WHERE id = ?) + (SELECT count(*) FROM sessions WHERE user_id = ?) AS n',
      args: [Number(u.id), Number(u.id)],
    })
    expect(left.rows[0]?.n).toBe(0)
  })
})

describe('concurrent writes', () => {
  test('50 registrations and 50 profile updates at once all succeed', async () => {
    const regs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        ctx.call('POST', '/api/v1/auth/register', {
          body: { username: `burst_${i}`, email: `burst_${i}@example.com`, password: 'password123' },
        }),
      ),
    )
    expect(regs.map((r) => r.status)).toEqual(Array(50).fill(201))
    const patches = await Promise.all(
      regs.map((r, i) =>
        ctx.call('PATCH', '/api/v1/users/me', { token: r.body.access_token, body: { bio: `bio ${i}` } }),
      ),
    )
    expect(patches.map((r) => r.status)).toEqual(Array(50).fill(200))
    const count = await ctx.database.client.execute("SELECT count(*) AS n FROM users WHERE bio LIKE 'bio %'")
    expect(count.rows[0]?.n).toBe(50)
  })
})

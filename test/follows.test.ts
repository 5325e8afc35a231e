import { describe, expect, test } from 'bun:test'
import { createUser, type TestUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

const follow = (who: TestUser, whom: string) => ctx.call('PUT', `/api/v1/users/${whom}/follow`, { token: who.token })
const unfollow = (who: TestUser, whom: string) =>
  ctx.call('DELETE', `/api/v1/users/${whom}/follow`, { token: who.token })
const profile = async (username: string, token?: string) =>
  (await ctx.call('GET', `/api/v1/users/${username}`, { token })).body

describe('PUT/DELETE /users/:username/follow', () => {
  test('follows and unfollows idempotently, answering {following, followers_count}', async () => {
    const a = await createUser(ctx)
    const b = await createUser(ctx)
    const res = await follow(a, b.username)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ following: true, followers_count: 1 })
    expect((await follow(a, b.username.toUpperCase())).body).toEqual({ following: true, followers_count: 1 })
    expect(await profile(b.username)).toMatchObject({ followers_count: 1, following_count: 0 })
    expect(await profile(a.username)).toMatchObject({ followers_count: 0, following_count: 1 })
    // The relation as my lists show it (GET /users/:username computes it in UserService; see the report).
    const bFollowers = await ctx.call('GET', `/api/v1/users/${b.username}/followers`, { token: b.token })
    expect(bFollowers.body.items[0]).toMatchObject({ username: a.username, followed_by_me: false, follows_me: true })
    const aFollowing = await ctx.call('GET', `/api/v1/users/${a.username}/following`, { token: a.token })
    expect(aFollowing.body.items[0]).toMatchObject({ username: b.username, followed_by_me: true, follows_me: false })
    const off = await unfollow(a, b.username)
    expect(off.status).toBe(200)
    expect(off.body).toEqual({ following: false, followers_count: 0 })
    expect((await unfollow(a, b.username)).body).toEqual({ following: false, followers_count: 0 })
    expect(await profile(a.username)).toMatchObject({ following_count: 0 })
  })

  test('following yourself is 422; unknown users are 404; anonymous is 401', async () => {
    const a = await createUser(ctx)
    const self = await follow(a, a.username)
    expect(expectProblem(self, 422, 'validation_failed').errors[0].field).toBe('username')
    expectProblem(await follow(a, a.username.toUpperCase()), 422, 'validation_failed')
    expect(await profile(a.username)).toMatchObject({ followers_count: 0, following_count: 0 })
    expectProblem(await follow(a, 'nobody_here_x'), 404, 'not_found')
    expectProblem(await unfollow(a, 'nobody_here_x'), 404, 'not_found')
    expectProblem(await ctx.call('PUT', `/api/v1/users/${a.username}/follow`), 401, 'unauthorized')
    expectProblem(await ctx.call('DELETE', `/api/v1/users/${a.username}/follow`), 401, 'unauthorized')
  })

  test('30 users following one user at once → followers_count 30', async () => {
    const star = await createUser(ctx)
    const fans = await Promise.all(Array.from({ length: 30 }, () => createUser(ctx)))
    const results = await Promise.all(fans.map((f) => follow(f, star.username)))
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(results.map((r) => r.body.followers_count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    )
    expect((await profile(star.username)).followers_count).toBe(30)
    await Promise.all(fans.slice(0, 10).map((f) => unfollow(f, star.username)))
    expect((await profile(star.username)).followers_count).toBe(20)
  })

  test('one user following the same user 10 times at once → followers_count 1', async () => {
    const star = await createUser(ctx)
    const fan = await createUser(ctx)
    const results = await Promise.all(Array.from({ length: 10 }, () => follow(fan, star.username)))
    expect(results.every((r) => r.status === 200 && r.body.followers_count === 1)).toBe(true)
    expect(await profile(fan.username)).toMatchObject({ following_count: 1 })
  })

  test('deleting an account removes its follows and the counts follow', async () => {
    const a = await createUser(ctx)
    const b = await createUser(ctx)
    const c = await createUser(ctx)
    await follow(a, b.username)
    await follow(a, c.username)
    await follow(c, a.username)
    expect(
      (await ctx.call('DELETE', '/api/v1/users/me', { token: a.token, body: { password: a.password } })).status,
    ).toBe(204)
    expect(await profile(b.username)).toMatchObject({ followers_count: 0 })
    expect(await profile(c.username)).toMatchObject({ followers_count: 0, following_count: 0 })
  })
})

describe('GET /users/:username/followers and /following', () => {
  test('list PublicUser, most recent follow first, paginated, with the caller’s relations', async () => {
    const star = await createUser(ctx)
    const fans: TestUser[] = []
    for (let i = 0; i < 5; i++) {
      const f = await createUser(ctx)
      fans.push(f)
      await follow(f, star.username)
    }
    await follow(star, fans[2]!.username)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Awaited<ReturnType<typeof ctx.call>> = await ctx.call(
        'GET',
        `/api/v1/users/${star.username}/followers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: star.token },
      )
      expect(page.status).toBe(200)
      for (const u of page.body.items) {
        seen.push(u.username)
        expect(u.follows_me).toBe(true)
        expect(u.followed_by_me).toBe(u.username === fans[2]!.username)
        expect(u.email).toBeUndefined()
      }
      cursor = page.body.next_cursor
      if (cursor)
        expect(page.headers.get('link')).toMatch(/^<\/api\/v1\/users\/.+\/followers\?limit=2&cursor=.+>; rel="next"$/)
      else expect(page.headers.get('link')).toBeNull()
    } while (cursor)
    expect(seen).toEqual(fans.map((f) => f.username).reverse())

    // Re-following moves a follower to the front (it is a new follow).
    await unfollow(fans[0]!, star.username)
    await follow(fans[0]!, star.username)
    const again = await ctx.call('GET', `/api/v1/users/${star.username}/followers?limit=1`)
    expect(again.body.items[0].username).toBe(fans[0]!.username)
    expect(again.body.items[0].followed_by_me).toBeUndefined()

    const following = await ctx.call('GET', `/api/v1/users/${fans[1]!.username}/following`)
    expect(following.status).toBe(200)
    expect(following.body.items.map((u: { username: string }) => u.username)).toEqual([star.username])
    expect(following.body.next_cursor).toBeNull()
  })

  test('following lists most recent follow first', async () => {
    const fan = await createUser(ctx)
    const stars = await Promise.all(Array.from({ length: 3 }, () => createUser(ctx)))
    for (const s of [stars[1]!, stars[0]!, stars[2]!]) await follow(fan, s.username)
    const res = await ctx.call('GET', `/api/v1/users/${fan.username}/following`)
    expect(res.body.items.map((u: { username: string }) => u.username)).toEqual([
      stars[2]!.username,
      stars[0]!.username,
      stars[1]!.username,
    ])
  })

  test('unknown user is 404; bad limit or cursor is 422', async () => {
    const u = await createUser(ctx)
    for (const list of ['followers', 'following']) {
      expectProblem(await ctx.call('GET', `/api/v1/users/nobody_here_y/${list}`), 404, 'not_found')
      expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}/${list}?limit=0`), 422, 'validation_failed')
      expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}/${list}?limit=101`), 422, 'validation_failed')
      expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}/${list}?cursor=bad!`), 422, 'validation_failed')
    }
    // A cursor from the followers list is not one for the following list.
    const star = await createUser(ctx)
    for (let i = 0; i < 2; i++) await follow(await createUser(ctx), star.username)
    const page = await ctx.call('GET', `/api/v1/users/${star.username}/followers?limit=1`)
    expectProblem(
      await ctx.call('GET', `/api/v1/users/${star.username}/following?cursor=${page.body.next_cursor}`),
      422,
      'validation_failed',
    )
  })
})

describe('GET /users/:username/posts', () => {
  test('newest first; replies included by default, excluded with include_replies=false', async () => {
    const u = await createUser(ctx)
    const post = async (text: string, reply_to_id?: string) =>
      (
        await ctx.call('POST', '/api/v1/posts', {
          token: u.token,
          body: { text, ...(reply_to_id ? { reply_to_id } : {}) },
        })
      ).body
    const p1 = await post('one')
    const r1 = await post('reply', p1.id)
    const p2 = await post('two')
    const all = await ctx.call('GET', `/api/v1/users/${u.username}/posts`)
    expect(all.status).toBe(200)
    expect(all.body.items.map((p: { id: string }) => p.id)).toEqual([p2.id, r1.id, p1.id])
    const top = await ctx.call('GET', `/api/v1/users/${u.username}/posts?include_replies=false`)
    expect(top.body.items.map((p: { id: string }) => p.id)).toEqual([p2.id, p1.id])
    expectProblem(await ctx.call('GET', '/api/v1/users/nobody_here_z/posts'), 404, 'not_found')
    expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}/posts?limit=101`), 422, 'validation_failed')
  })
})

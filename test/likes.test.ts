import { describe, expect, test } from 'bun:test'
import { createUser, type TestUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

async function createPost(user: TestUser, text = 'like me') {
  const res = await ctx.call('POST', '/api/v1/posts', { token: user.token, body: { text } })
  if (res.status !== 201) throw new Error(`createPost failed: ${res.status} ${res.text}`)
  return res.body
}

const like = (user: TestUser, id: string) => ctx.call('PUT', `/api/v1/posts/${id}/like`, { token: user.token })
const unlike = (user: TestUser, id: string) => ctx.call('DELETE', `/api/v1/posts/${id}/like`, { token: user.token })

describe('PUT/DELETE /posts/:id/like', () => {
  test('likes and unlikes idempotently, answering {liked, likes_count}', async () => {
    const author = await createUser(ctx)
    const fan = await createUser(ctx)
    const p = await createPost(author)
    const first = await like(fan, p.id)
    expect(first.status).toBe(200)
    expect(first.body).toEqual({ liked: true, likes_count: 1 })
    expect((await like(fan, p.id)).body).toEqual({ liked: true, likes_count: 1 })
    expect((await like(author, p.id)).body).toEqual({ liked: true, likes_count: 2 })
    expect((await unlike(fan, p.id)).body).toEqual({ liked: false, likes_count: 1 })
    expect((await unlike(fan, p.id)).body).toEqual({ liked: false, likes_count: 1 })
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.likes_count).toBe(1)
  })

  test('liked_by_me shows the caller’s own like, only when authenticated', async () => {
    const author = await createUser(ctx)
    const fan = await createUser(ctx)
    const p = await createPost(author)
    await like(fan, p.id)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`, { token: fan.token })).body.liked_by_me).toBe(true)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`, { token: author.token })).body.liked_by_me).toBe(false)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.liked_by_me).toBeUndefined()
    const feed = await ctx.call('GET', `/api/v1/users/${author.username}/posts`, { token: fan.token })
    expect(feed.body.items[0]).toMatchObject({ id: p.id, liked_by_me: true, likes_count: 1 })
  })

  test('an unknown post is 404; anonymous is 401', async () => {
    const u = await createUser(ctx)
    expectProblem(await like(u, '99999999'), 404, 'not_found')
    expectProblem(await unlike(u, '99999999'), 404, 'not_found')
    expectProblem(await like(u, 'abc'), 404, 'not_found')
    const p = await createPost(u)
    expectProblem(await ctx.call('PUT', `/api/v1/posts/${p.id}/like`), 401, 'unauthorized')
    expectProblem(await ctx.call('DELETE', `/api/v1/posts/${p.id}/like`), 401, 'unauthorized')
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.likes_count).toBe(0)
  })

  test('40 users liking one post at once → likes_count 40; all unliking at once → 0', async () => {
    const author = await createUser(ctx)
    const p = await createPost(author)
    const fans = await Promise.all(Array.from({ length: 40 }, () => createUser(ctx)))
    const results = await Promise.all(fans.map((f) => like(f, p.id)))
    expect(results.every((r) => r.status === 200 && r.body.liked === true)).toBe(true)
    // Each answer is the count right after that like: all distinct, 1..40.
    expect(results.map((r) => r.body.likes_count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    )
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.likes_count).toBe(40)
    await Promise.all(fans.map((f) => unlike(f, p.id)))
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.likes_count).toBe(0)
  })

  test('one user sending 20 likes at once → likes_count 1', async () => {
    const author = await createUser(ctx)
    const fan = await createUser(ctx)
    const p = await createPost(author)
    const results = await Promise.all(Array.from({ length: 20 }, () => like(fan, p.id)))
    expect(results.every((r) => r.status === 200 && r.body.likes_count === 1)).toBe(true)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.likes_count).toBe(1)
    const mixed = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? like(fan, p.id) : unlike(fan, p.id))))
    expect(mixed.every((r) => r.status === 200)).toBe(true)
    const row = await ctx.database.client.execute({
      sql: 'SELECT p.likes_count AS c, (SELECT count(*) FROM likes l WHERE l.post_id = p.id) AS n FROM posts p WHERE p.id = ?',
      args: [Number(p.id)],
    })
    expect(Number(row.rows[0]?.c)).toBe(Number(row.rows[0]?.n))
  })
})

describe('GET /posts/:id/likes', () => {
  test('lists who liked, most recent like first, as PublicUser, paginated', async () => {
    const author = await createUser(ctx)
    const p = await createPost(author)
    const fans: TestUser[] = []
    for (let i = 0; i < 5; i++) {
      const f = await createUser(ctx)
      fans.push(f)
      await like(f, p.id)
    }
    await ctx.call('PUT', `/api/v1/users/${fans[0]!.username}/follow`, { token: author.token })
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Awaited<ReturnType<typeof ctx.call>> = await ctx.call(
        'GET',
        `/api/v1/posts/${p.id}/likes?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: author.token },
      )
      expect(page.status).toBe(200)
      for (const u of page.body.items) {
        expect(Object.keys(u).sort()).toEqual(
          [
            'avatar_url',
            'bio',
            'created_at',
            'display_name',
            'followed_by_me',
            'followers_count',
            'following_count',
            'follows_me',
            'id',
            'posts_count',
            'username',
          ].sort(),
        )
        seen.push(u.username)
        if (u.username === fans[0]!.username) expect(u.followed_by_me).toBe(true)
      }
      cursor = page.body.next_cursor
      if (cursor) expect(page.headers.get('link')).toContain('rel="next"')
    } while (cursor)
    expect(seen).toEqual(fans.map((f) => f.username).reverse())
    const anon = await ctx.call('GET', `/api/v1/posts/${p.id}/likes`)
    expect(anon.body.items[0].followed_by_me).toBeUndefined()
    expect(anon.text).not.toContain('@example.com')
  })

  test('unknown post is 404; bad limit or cursor is 422', async () => {
    const u = await createUser(ctx)
    const p = await createPost(u)
    expectProblem(await ctx.call('GET', '/api/v1/posts/99999999/likes'), 404, 'not_found')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}/likes?limit=101`), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}/likes?cursor=zzz`), 422, 'validation_failed')
  })
})

describe('GET /users/:username/likes', () => {
  test('lists the posts a user liked, most recent like first', async () => {
    const author = await createUser(ctx)
    const fan = await createUser(ctx)
    const posts = []
    for (let i = 0; i < 4; i++) posts.push(await createPost(author, `p${i}`))
    // Like in an order different from the posts' order.
    for (const i of [2, 0, 3, 1]) await like(fan, posts[i].id)
    const res = await ctx.call('GET', `/api/v1/users/${fan.username}/likes`, { token: fan.token })
    expect(res.status).toBe(200)
    expect(res.body.items.map((p: { text: string }) => p.text)).toEqual(['p1', 'p3', 'p0', 'p2'])
    expect(res.body.items.every((p: { liked_by_me: boolean }) => p.liked_by_me)).toBe(true)
    const page1 = await ctx.call('GET', `/api/v1/users/${fan.username}/likes?limit=3`)
    expect(page1.body.items).toHaveLength(3)
    const page2 = await ctx.call('GET', `/api/v1/users/${fan.username}/likes?limit=3&cursor=${page1.body.next_cursor}`)
    expect(page2.body.items.map((p: { text: string }) => p.text)).toEqual(['p2'])
    expect(page2.body.next_cursor).toBeNull()
    // A deleted post leaves the list (its likes go with it).
    await ctx.call('DELETE', `/api/v1/posts/${posts[1].id}`, { token: author.token })
    const after = await ctx.call('GET', `/api/v1/users/${fan.username}/likes`)
    expect(after.body.items.map((p: { text: string }) => p.text)).toEqual(['p3', 'p0', 'p2'])
  })

  test('unknown user is 404; bad limit is 422', async () => {
    expectProblem(await ctx.call('GET', '/api/v1/users/nobody_at_all/likes'), 404, 'not_found')
    const u = await createUser(ctx)
    expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}/likes?limit=0`), 422, 'validation_failed')
  })
})

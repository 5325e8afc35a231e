import { describe, expect, test } from 'bun:test'
import { TIMELINE_WINDOW } from '../src/modules/posts/service'
import { createUser, makeAdmin, type TestUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

async function createPost(user: TestUser, text: string, replyTo?: string) {
  const res = await ctx.call('POST', '/api/v1/posts', {
    token: user.token,
    body: { text, ...(replyTo ? { reply_to_id: replyTo } : {}) },
  })
  if (res.status !== 201) throw new Error(`createPost failed: ${res.status} ${res.text}`)
  return res.body
}

const follow = (who: TestUser, whom: TestUser) =>
  ctx.call('PUT', `/api/v1/users/${whom.username}/follow`, { token: who.token })

/** Inserts `count` posts by a user straight into the database (for volume). */
async function bulkPosts(userId: string, count: number, prefix: string) {
  await ctx.database.client.execute({
    sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
          INSERT INTO posts (author_id, text, created_at) SELECT ?, ? || i, 0 FROM n`,
    args: [count, Number(userId), prefix],
  })
}

/** Every id of a list, following next_cursor page by page. */
async function walk(path: string, token: string | undefined, limit: number): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  for (let guard = 0; guard < 1000; guard++) {
    const sep = path.includes('?') ? '&' : '?'
    const res = await ctx.call('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token })
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`)
    ids.push(...res.body.items.map((p: { id: string }) => p.id))
    cursor = res.body.next_cursor
    if (!cursor) return ids
  }
  throw new Error('too many pages')
}

describe('GET /timeline', () => {
  test("shows the caller's own posts and those of the people they follow, newest first — nobody else's", async () => {
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    const stranger = await createUser(ctx)
    await follow(me, friend)
    const mine = await createPost(me, 'mine')
    const theirs = await createPost(friend, 'friend')
    const noise = await createPost(stranger, 'stranger')
    const reply = await createPost(friend, 'friend replies to a stranger', noise.id)
    const res = await ctx.call('GET', '/api/v1/timeline', { token: me.token })
    expect(res.status).toBe(200)
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual([reply.id, theirs.id, mine.id])
    expect(res.body.next_cursor).toBeNull()
    expect(res.body.items[0]).toMatchObject({ author: { username: friend.username }, liked_by_me: false })
    // The stranger's own timeline has only their post.
    const theirsOnly = await ctx.call('GET', '/api/v1/timeline', { token: stranger.token })
    expect(theirsOnly.body.items.map((p: { id: string }) => p.id)).toEqual([noise.id])
  })

  test("after unfollowing, the unfollowed user's posts (new ones included) no longer appear", async () => {
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    await follow(me, friend)
    const before = await createPost(friend, 'while followed')
    expect(
      (await ctx.call('GET', '/api/v1/timeline', { token: me.token })).body.items.map((p: { id: string }) => p.id),
    ).toContain(before.id)
    await ctx.call('DELETE', `/api/v1/users/${friend.username}/follow`, { token: me.token })
    const after = await createPost(friend, 'after unfollow')
    const own = await createPost(me, 'mine')
    const ids = (await ctx.call('GET', '/api/v1/timeline', { token: me.token })).body.items.map(
      (p: { id: string }) => p.id,
    )
    expect(ids).not.toContain(after.id)
    expect(ids).not.toContain(before.id)
    expect(ids).toEqual([own.id])
  })

  test("a disabled account's posts leave its followers' timelines", async () => {
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    await follow(me, friend)
    const p = await createPost(friend, 'soon hidden')
    await ctx.call('PATCH', `/api/v1/admin/users/${friend.username}`, { token: admin.token, body: { disabled: true } })
    const ids = (await ctx.call('GET', '/api/v1/timeline', { token: me.token })).body.items.map(
      (x: { id: string }) => x.id,
    )
    expect(ids).not.toContain(p.id)
  })

  test('needs authentication; bad limit or cursor is 422', async () => {
    expectProblem(await ctx.call('GET', '/api/v1/timeline'), 401, 'unauthorized')
    expectProblem(await ctx.call('GET', '/api/v1/timeline', { token: 'nope' }), 401, 'unauthorized')
    const me = await createUser(ctx)
    expectProblem(await ctx.call('GET', '/api/v1/timeline?limit=0', { token: me.token }), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', '/api/v1/timeline?limit=101', { token: me.token }), 422, 'validation_failed')
    expectProblem(
      await ctx.call('GET', '/api/v1/timeline?cursor=%22%22', { token: me.token }),
      422,
      'validation_failed',
    )
    const feedCursor = Buffer.from(JSON.stringify(['posts', 10])).toString('base64url')
    expectProblem(
      await ctx.call('GET', `/api/v1/timeline?cursor=${feedCursor}`, { token: me.token }),
      422,
      'validation_failed',
    )
  })

  test('matches a brute-force answer page by page, across stretches of posts by strangers', async () => {
    // A small follow graph; its posts are separated by more posts of a stranger than the
    // timeline's newest-posts window holds, so some pages need the per-followee fallback.
    const people = await Promise.all(Array.from({ length: 8 }, () => createUser(ctx)))
    const stranger = await createUser(ctx)
    const edges: Array<[number, number]> = [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 0],
      [1, 4],
      [2, 5],
      [2, 6],
      [2, 7],
      [3, 0],
      [4, 7],
      [6, 1],
    ]
    for (const [a, b] of edges) await follow(people[a]!, people[b]!)
    for (let i = 0; i < 60; i++) await bulkPosts(people[(i * 5) % 8]!.id, 1, `early-${i}-`)
    await bulkPosts(stranger.id, TIMELINE_WINDOW + 500, 'noise-')
    for (let i = 0; i < 40; i++) await bulkPosts(people[(i * 3) % 8]!.id, 1, `late-${i}-`)
    await bulkPosts(stranger.id, 300, 'noise2-')

    for (const [index, person] of people.entries()) {
      const expected = await ctx.database.client.execute({
        sql: `SELECT id FROM posts WHERE author_id = ? OR author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?)
              ORDER BY id DESC`,
        args: [Number(person.id), Number(person.id)],
      })
      const want = expected.rows.map((r) => String(r.id))
      expect(want.length).toBeGreaterThan(0)
      const limit = [7, 20, 100][index % 3]!
      expect(await walk('/api/v1/timeline', person.token, limit)).toEqual(want)
    }
  })
})

describe('serialization cost', () => {
  test('a timeline page of 20 costs the same number of queries as a page of 5', async () => {
    const me = await createUser(ctx)
    const friends = await Promise.all(Array.from({ length: 3 }, () => createUser(ctx)))
    for (const f of friends) await follow(me, f)
    for (let i = 0; i < 30; i++) {
      const p = await createPost(friends[i % 3]!, `post ${i}`)
      if (i % 2) await ctx.call('PUT', `/api/v1/posts/${p.id}/like`, { token: me.token })
    }
    const count = async (path: string, token?: string) => {
      ctx.queries.length = 0
      const res = await ctx.call('GET', path, { token })
      expect(res.status).toBe(200)
      return { queries: ctx.queries.length, items: res.body.items.length }
    }
    const big = await count('/api/v1/timeline?limit=20', me.token)
    const small = await count('/api/v1/timeline?limit=5', me.token)
    expect(big.items).toBe(20)
    expect(small.items).toBe(5)
    expect(big.queries).toBe(small.queries)
    expect(big.queries).toBeLessThanOrEqual(2) // the session lookup and the page

    // The other post lists too.
    for (const path of [
      '/api/v1/posts',
      `/api/v1/users/${friends[0]!.username}/posts`,
      `/api/v1/users/${me.username}/likes`,
    ]) {
      const p20 = await count(`${path}?limit=20`, me.token)
      const p5 = await count(`${path}?limit=5`, me.token)
      expect(p20.items).toBeGreaterThan(p5.items)
      expect(p20.queries).toBe(p5.queries)
    }
    const followers20 = await count(`/api/v1/users/${friends[0]!.username}/followers?limit=20`, me.token)
    const followers1 = await count(`/api/v1/users/${friends[0]!.username}/followers?limit=1`, me.token)
    expect(followers20.queries).toBe(followers1.queries)
  })
})

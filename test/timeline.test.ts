import { describe, expect, test } from 'bun:test'
import { createUser, makeAdmin, type TestUser } from './factories'
import { createTestContext, expectProblem } from './helpers'
import { entryMismatches, expectedTimeline } from './timeline-oracle'

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
const unfollow = (who: TestUser, whom: TestUser) =>
  ctx.call('DELETE', `/api/v1/users/${whom.username}/follow`, { token: who.token })

async function setDisabled(admin: TestUser, user: TestUser, disabled: boolean) {
  const res = await ctx.call('PATCH', `/api/v1/admin/users/${user.username}`, {
    token: admin.token,
    body: { disabled },
  })
  if (res.status !== 200) throw new Error(`setDisabled failed: ${res.status} ${res.text}`)
}

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
    // A small follow graph whose posts are separated by long stretches of a stranger's posts.
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
    await bulkPosts(stranger.id, 3000, 'noise-')
    for (let i = 0; i < 40; i++) await bulkPosts(people[(i * 3) % 8]!.id, 1, `late-${i}-`)
    await bulkPosts(stranger.id, 300, 'noise2-')

    for (const [index, person] of people.entries()) {
      const want = await expectedTimeline(ctx.database.client, person.id)
      expect(want.length).toBeGreaterThan(0)
      const limit = [7, 20, 100][index % 3]!
      expect(await walk('/api/v1/timeline', person.token, limit)).toEqual(want)
    }
  })
})

describe('GET /timeline: what changes it', () => {
  const ids = async (user: TestUser) =>
    (await ctx.call('GET', '/api/v1/timeline?limit=100', { token: user.token })).body.items.map(
      (p: { id: string }) => p.id,
    )

  /** Pages of 1, 2 and 3 each give the brute-force timeline: newest first, every post once. */
  async function expectPagedTimeline(user: TestUser) {
    const want = await expectedTimeline(ctx.database.client, user.id)
    expect(new Set(want).size).toBe(want.length)
    for (const limit of [1, 2, 3])
      expect({ limit, ids: await walk('/api/v1/timeline', user.token, limit) }).toEqual({ limit, ids: want })
    return want
  }

  test('a new account sees its own posts, and replies it writes, at once', async () => {
    const me = await createUser(ctx)
    const stranger = await createUser(ctx)
    const first = await createPost(me, 'first')
    const theirs = await createPost(stranger, 'not mine')
    const reply = await createPost(me, 'a reply to a stranger', theirs.id)
    expect(await ids(me)).toEqual([reply.id, first.id])
    expect(await expectPagedTimeline(me)).toEqual([reply.id, first.id])
  })

  test("following brings the followee's earlier posts, replies included, in order, once each", async () => {
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    const other = await createUser(ctx)
    const older: string[] = []
    for (let i = 0; i < 4; i++) older.push((await createPost(friend, `before the follow ${i}`)).id)
    const mine = await createPost(me, 'mine')
    const elsewhere = await createPost(other, 'elsewhere')
    older.push((await createPost(friend, 'a reply elsewhere', elsewhere.id)).id)
    expect(await ids(me)).toEqual([mine.id])
    expect((await follow(me, friend)).status).toBe(200)
    const want = await expectPagedTimeline(me)
    expect(want).toEqual([older[4]!, mine.id, ...older.slice(0, 4).reverse()])
    // Following again changes nothing.
    expect((await follow(me, friend)).status).toBe(200)
    expect(await expectPagedTimeline(me)).toEqual(want)
  })

  test('unfollowing removes the posts; following again brings them all back', async () => {
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    await follow(me, friend)
    const theirs = [await createPost(friend, 'one'), await createPost(friend, 'two')].map((p) => p.id)
    const mine = await createPost(me, 'mine')
    expect(await ids(me)).toEqual([mine.id, ...theirs.reverse()])
    await unfollow(me, friend)
    expect(await expectPagedTimeline(me)).toEqual([mine.id])
    const later = await createPost(friend, 'while unfollowed')
    await follow(me, friend)
    expect(await expectPagedTimeline(me)).toEqual([later.id, mine.id, ...theirs])
    // The friend's own timeline never changed.
    expect(await ids(friend)).toEqual([later.id, ...theirs])
  })

  test('a deleted post leaves every timeline it was in', async () => {
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    const fan = await createUser(ctx)
    await follow(me, friend)
    await follow(fan, friend)
    const keep = await createPost(friend, 'stays')
    const gone = await createPost(friend, 'goes')
    const reply = await createPost(me, 'a reply to what goes', gone.id)
    expect((await ctx.call('DELETE', `/api/v1/posts/${gone.id}`, { token: friend.token })).status).toBe(204)
    expect(await ids(me)).toEqual([reply.id, keep.id])
    expect(await ids(fan)).toEqual([keep.id])
    expect(await ids(friend)).toEqual([keep.id])
    const left = await ctx.database.client.execute({
      sql: 'SELECT count(*) AS n FROM timeline_entries WHERE post_id = ?',
      args: [Number(gone.id)],
    })
    expect(Number(left.rows[0]?.n)).toBe(0)
  })

  test("a disabled author's posts disappear, and come back in place when the account is enabled again", async () => {
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const me = await createUser(ctx)
    const friend = await createUser(ctx)
    await follow(me, friend)
    const a = await createPost(friend, 'a')
    const mine = await createPost(me, 'mine')
    const b = await createPost(friend, 'b')
    await setDisabled(admin, friend, true)
    expect(await ids(me)).toEqual([mine.id])
    expect(await expectPagedTimeline(me)).toEqual([mine.id])
    await setDisabled(admin, friend, false)
    expect(await expectPagedTimeline(me)).toEqual([b.id, mine.id, a.id])
  })

  test("a deleted account's posts leave its followers' timelines and its entries go with it", async () => {
    const me = await createUser(ctx)
    const leaving = await createUser(ctx)
    const followed = await createUser(ctx)
    await follow(me, leaving)
    await follow(leaving, me)
    await follow(leaving, followed)
    const mine = await createPost(me, 'mine')
    await createPost(leaving, 'soon gone')
    await createPost(followed, 'followed by the leaver')
    const res = await ctx.call('DELETE', '/api/v1/users/me', {
      token: leaving.token,
      body: { password: leaving.password },
    })
    expect(res.status).toBe(204)
    expect(await expectPagedTimeline(me)).toEqual([mine.id])
    const left = await ctx.database.client.execute({
      sql: 'SELECT count(*) AS n FROM timeline_entries WHERE user_id = ?',
      args: [Number(leaving.id)],
    })
    expect(Number(left.rows[0]?.n)).toBe(0)
    expect(await entryMismatches(ctx.database.client)).toEqual({ extra: 0, missing: 0 })
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

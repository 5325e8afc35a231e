import { describe, expect, test } from 'bun:test'
import type { Db } from '../src/db/client'
import { openDatabase } from '../src/db/client'
import type { Logger } from '../src/logger'
import { FanoutWorker, INLINE_FOLLOWERS, INLINE_POSTS } from '../src/modules/timeline/fanout'
import { createUser, seededRandom, type TestUser } from './factories'
import { createTestContext } from './helpers'
import { entryMismatches, expectedTimeline } from './timeline-oracle'

// Fan-outs past INLINE_FOLLOWERS followers or INLINE_POSTS posts are queued in timeline_jobs and
// written by FanoutWorker (migrations/0004_timeline_jobs.sql). Whatever happens meanwhile, once
// the queue is drained timeline_entries must hold exactly the brute-force answer. Crowds of
// followers and piles of posts go straight into the database: the API would be slow for that.

const ctx = await createTestContext()
const client = ctx.database.client

const one = async (sql: string, args: Array<number | string> = []) =>
  Number((await client.execute({ sql, args })).rows[0]?.[0])
/** The queue, oldest first, as plain objects. */
async function jobs() {
  const result = await client.execute(
    'SELECT kind, post_id, author_id, follower_id, followee_id, cursor FROM timeline_jobs ORDER BY id',
  )
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])))
}
const entriesOf = (postId: string | number) =>
  one('SELECT count(*) FROM timeline_entries WHERE post_id = ?', [Number(postId)])
const entriesOfUser = (userId: string | number) =>
  one('SELECT count(*) FROM timeline_entries WHERE user_id = ?', [Number(userId)])

let crowds = 0
/** `count` accounts nobody signs in to, straight into the database; their ids. */
async function crowd(count: number): Promise<number[]> {
  const prefix = `crowd${++crowds}_`
  await client.execute({
    sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
          INSERT INTO users (username, email, password_hash) SELECT ?2 || i, ?2 || i || '@example.com', 'x' FROM n`,
    args: [count, prefix],
  })
  const rows = await client.execute({
    sql: 'SELECT id FROM users WHERE username GLOB ? ORDER BY id',
    args: [`${prefix}*`],
  })
  return rows.rows.map((r) => Number(r.id))
}

/** Every one of `followers` follows `followee` (one statement; the triggers run per row). */
async function followedBy(followee: TestUser | number, followers: number[]) {
  await client.execute({
    sql: 'INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at) SELECT value, ?, 0 FROM json_each(?)',
    args: [Number(typeof followee === 'number' ? followee : followee.id), JSON.stringify(followers)],
  })
}

/** `count` posts by a user straight into the database. */
async function bulkPosts(user: TestUser, count: number) {
  await client.execute({
    sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
          INSERT INTO posts (author_id, text, created_at) SELECT ?, 'bulk ' || i, 0 FROM n`,
    args: [count, Number(user.id)],
  })
}

async function ok(method: string, path: string, token: string, body?: unknown) {
  const res = await ctx.call(method, path, { token, body })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`)
  return res.body
}
const post = (user: TestUser, text = 'hello') => ok('POST', '/api/v1/posts', user.token, { text })
const follow = (who: TestUser, whom: TestUser) => ok('PUT', `/api/v1/users/${whom.username}/follow`, who.token)
const unfollow = (who: TestUser, whom: TestUser) => ok('DELETE', `/api/v1/users/${whom.username}/follow`, who.token)

/** A worker with tiny chunks, so a job takes many and other writes land between them. */
const smallChunks = (db: Db = ctx.database.db) =>
  new FanoutWorker(db, ctx.logger, { followersPerChunk: 7, postsPerChunk: 90 })

async function expectExact() {
  expect(await jobs()).toEqual([])
  expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
}

/** Every id of the user's home timeline, page by page. */
async function walk(user: TestUser, limit: number): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  for (let guard = 0; guard < 1000; guard++) {
    const body = await ok('GET', `/api/v1/timeline?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, user.token)
    ids.push(...body.items.map((p: { id: string }) => p.id))
    cursor = body.next_cursor
    if (!cursor) return ids
  }
  throw new Error('too many pages')
}

describe('the limits: inline up to the limit, queued past it', () => {
  test(`a post by an account with ${INLINE_FOLLOWERS} followers is written inline; with one more, queued`, async () => {
    const author = await createUser(ctx)
    const fans = await crowd(INLINE_FOLLOWERS + 1)
    await followedBy(author, fans.slice(0, INLINE_FOLLOWERS))
    const inline = await post(author)
    expect(await entriesOf(inline.id)).toBe(INLINE_FOLLOWERS + 1)
    expect(await jobs()).toEqual([])

    await followedBy(author, fans.slice(INLINE_FOLLOWERS))
    const queued = await post(author)
    // The request wrote one entry (the author's own) and one job, whatever the number of followers.
    expect(await entriesOf(queued.id)).toBe(1)
    expect(await jobs()).toEqual([
      {
        kind: 'post',
        post_id: Number(queued.id),
        author_id: Number(author.id),
        follower_id: null,
        followee_id: null,
        cursor: 0,
      },
    ])
    expect((await walk(author, 10))[0]).toBe(queued.id)
    expect(await ctx.services.fanout.drain()).toBeGreaterThan(0)
    expect(await entriesOf(queued.id)).toBe(INLINE_FOLLOWERS + 2)
    await expectExact()
  })

  test(`following an account with ${INLINE_POSTS} posts is written inline; with one more, queued`, async () => {
    const reader = await createUser(ctx)
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS)
    await follow(reader, prolific)
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS)
    await unfollow(reader, prolific)
    expect(await entriesOfUser(reader.id)).toBe(0)
    expect(await jobs()).toEqual([])

    await post(prolific)
    await follow(reader, prolific)
    expect(await entriesOfUser(reader.id)).toBe(0)
    expect(await jobs()).toMatchObject([
      { kind: 'follow', follower_id: Number(reader.id), followee_id: Number(prolific.id) },
    ])
    await ctx.services.fanout.drain()
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 1)
    await expectExact()

    await unfollow(reader, prolific)
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 1)
    expect(await jobs()).toMatchObject([
      { kind: 'unfollow', follower_id: Number(reader.id), followee_id: Number(prolific.id) },
    ])
    await ctx.services.fanout.drain()
    expect(await entriesOfUser(reader.id)).toBe(0)
    await expectExact()
  })

  test('deleting a post of an account past the limit removes its own entry at once and the rest in the background', async () => {
    const author = await createUser(ctx)
    await followedBy(author, await crowd(INLINE_FOLLOWERS + 30))
    const p = await post(author)
    await ctx.services.fanout.drain()
    expect(await entriesOf(p.id)).toBe(INLINE_FOLLOWERS + 31)
    await ok('DELETE', `/api/v1/posts/${p.id}`, author.token)
    expect(
      await one('SELECT count(*) FROM timeline_entries WHERE user_id = ? AND post_id = ?', [
        Number(author.id),
        Number(p.id),
      ]),
    ).toBe(0)
    expect(await jobs()).toMatchObject([{ kind: 'unpost', post_id: Number(p.id), author_id: Number(author.id) }])
    // Ids of the followers, in many small chunks.
    const worker = smallChunks()
    expect(await worker.drain()).toBe(Math.ceil((INLINE_FOLLOWERS + 30) / 7))
    expect(await entriesOf(p.id)).toBe(0)
    await expectExact()
  })
})

describe('each kind of job, in chunks', () => {
  test('a post fan-out covers every follower, in chunks of the configured size', async () => {
    const author = await createUser(ctx)
    const fans = await crowd(3 * 7 * 10)
    await followedBy(author, fans)
    const p = await post(author)
    const worker = smallChunks()
    const results: string[] = []
    for (let r = await worker.runOnce(); r !== 'idle'; r = await worker.runOnce()) results.push(r)
    // 210 followers in chunks of 7: 30 full chunks, then an empty one that ends the job.
    expect(results).toEqual([...Array(30).fill('advanced'), 'finished'])
    expect(await entriesOf(p.id)).toBe(211)
    await expectExact()
  })

  test("a follow and an unfollow walk the followee's posts in chunks", async () => {
    const reader = await createUser(ctx)
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS + 500)
    await follow(reader, prolific)
    const worker = smallChunks()
    await worker.runOnce()
    expect(await entriesOfUser(reader.id)).toBe(90)
    expect(await worker.drain()).toBe(Math.ceil((INLINE_POSTS + 500) / 90) - 1)
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 500)
    await unfollow(reader, prolific)
    await worker.runOnce()
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 500 - 90)
    await worker.drain()
    expect(await entriesOfUser(reader.id)).toBe(0)
    await expectExact()
  })
})

describe('interleavings: the queue converges to the exact set', () => {
  test('follow → unfollow → follow of a prolific account with every job pending, then drained in any order', async () => {
    const reader = await createUser(ctx)
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS + 200)
    await follow(reader, prolific)
    await unfollow(reader, prolific)
    await follow(reader, prolific)
    expect((await jobs()).map((j) => j.kind)).toEqual(['follow', 'unfollow', 'follow'])
    await ctx.services.fanout.drain()
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 200)
    await expectExact()

    // And ending unfollowed, the unfollow's chunks interleaved with the follows' (newest job first).
    await unfollow(reader, prolific)
    await follow(reader, prolific)
    await unfollow(reader, prolific)
    const worker = smallChunks()
    await worker.runOnce()
    await client.execute('UPDATE timeline_jobs SET id = -id') // the newest is now the oldest
    await worker.drain()
    expect(await entriesOfUser(reader.id)).toBe(0)
    await expectExact()

    // Following again, the unfollow's job drained last: it must not undo the newer follow.
    await follow(reader, prolific)
    await ctx.services.fanout.drain()
    await unfollow(reader, prolific)
    await follow(reader, prolific)
    await client.execute('UPDATE timeline_jobs SET id = -id')
    expect((await jobs()).map((j) => j.kind)).toEqual(['follow', 'unfollow'])
    await worker.drain()
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 200)
    await expectExact()
  })

  test('a follow job half done when the follow goes and comes back', async () => {
    const reader = await createUser(ctx)
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS + 300)
    await follow(reader, prolific)
    const worker = smallChunks()
    for (let i = 0; i < 5; i++) await worker.runOnce()
    await unfollow(reader, prolific)
    await worker.runOnce() // the follow job ends at once: its follow is gone
    expect((await jobs()).map((j) => j.kind)).toEqual(['unfollow'])
    await worker.runOnce()
    await follow(reader, prolific)
    await worker.drain()
    expect(await entriesOfUser(reader.id)).toBe(INLINE_POSTS + 300)
    await expectExact()
  })

  test('a post deleted while its fan-out is pending, or half done', async () => {
    const author = await createUser(ctx)
    await followedBy(author, await crowd(INLINE_FOLLOWERS + 50))
    const untouched = await post(author, 'never fanned out')
    const half = await post(author, 'half fanned out')
    const worker = smallChunks()
    await ctx.call('DELETE', `/api/v1/posts/${untouched.id}`, { token: author.token })
    // Oldest first: the deleted post's fan-out ends in one chunk, writing nothing.
    expect(await worker.runOnce()).toBe('finished')
    expect(await entriesOf(untouched.id)).toBe(0)
    for (let i = 0; i < 4; i++) await worker.runOnce()
    expect(await entriesOf(half.id)).toBe(1 + 4 * 7)
    await ok('DELETE', `/api/v1/posts/${half.id}`, author.token)
    await worker.drain()
    expect(await entriesOf(half.id)).toBe(0)
    await expectExact()
  })

  test('an unfollow queued before the followee deletes a post: neither walk alone would find the entry', async () => {
    // The unfollow walks the followee's posts (the deleted one is gone from them); the deletion
    // walks the followee's follows (the unfollow is gone from them). Each covers the other's
    // pending removals, in both orders of draining.
    for (const order of ['unfollow first', 'delete first'] as const) {
      const reader = await createUser(ctx)
      const star = await createUser(ctx)
      await bulkPosts(star, INLINE_POSTS + 1)
      await followedBy(star, await crowd(INLINE_FOLLOWERS + 1))
      await follow(reader, star)
      await ctx.services.fanout.drain()
      const p = await post(star)
      await ctx.services.fanout.drain()
      expect(await entriesOf(p.id)).toBe(INLINE_FOLLOWERS + 3)
      await unfollow(reader, star)
      await ok('DELETE', `/api/v1/posts/${p.id}`, star.token)
      expect((await jobs()).map((j) => j.kind)).toEqual(['unfollow', 'unpost'])
      if (order === 'delete first') await client.execute('UPDATE timeline_jobs SET id = -id')
      await smallChunks().drain()
      expect({ order, left: await entriesOf(p.id) }).toEqual({ order, left: 0 })
      await expectExact()
    }
  })

  test('the same with one side inline: a small account unfollowed while a deletion is queued, and the reverse', async () => {
    // A deletion queued (many followers, few posts), then an inline unfollow.
    const reader = await createUser(ctx)
    const star = await createUser(ctx)
    await followedBy(star, await crowd(INLINE_FOLLOWERS + 1))
    await follow(reader, star)
    const p = await post(star)
    await ctx.services.fanout.drain()
    await ok('DELETE', `/api/v1/posts/${p.id}`, star.token)
    await unfollow(reader, star)
    expect((await jobs()).map((j) => j.kind)).toEqual(['unpost'])
    expect(
      await one('SELECT count(*) FROM timeline_entries WHERE user_id = ? AND post_id = ?', [
        Number(reader.id),
        Number(p.id),
      ]),
    ).toBe(0)
    await ctx.services.fanout.drain()
    await expectExact()

    // An unfollow queued (many posts, few followers), then an inline deletion.
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS + 1)
    await follow(reader, prolific)
    await ctx.services.fanout.drain()
    const q = await post(prolific)
    await unfollow(reader, prolific)
    await ok('DELETE', `/api/v1/posts/${q.id}`, prolific.token)
    expect((await jobs()).map((j) => j.kind)).toEqual(['unfollow'])
    expect(
      await one('SELECT count(*) FROM timeline_entries WHERE user_id = ? AND post_id = ?', [
        Number(reader.id),
        Number(q.id),
      ]),
    ).toBe(0)
    await ctx.services.fanout.drain()
    await expectExact()
  })

  test('an account deleted with fan-outs pending on both sides (cascades)', async () => {
    const leaving = await createUser(ctx)
    const reader = await createUser(ctx)
    const prolific = await createUser(ctx)
    await bulkPosts(prolific, INLINE_POSTS + 100)
    await followedBy(leaving, await crowd(INLINE_FOLLOWERS + 20))
    await follow(reader, leaving)
    await follow(leaving, prolific) // queued follow, leaving as follower
    await follow(reader, prolific)
    await ctx.services.fanout.drain()
    await post(leaving, 'fanned out')
    await unfollow(reader, prolific) // an unfollow of someone else, pending throughout
    const pending = await post(leaving, 'pending') // queued post fan-out
    await ok('DELETE', `/api/v1/posts/${(await post(leaving, 'deleted')).id}`, leaving.token) // queued unpost
    await unfollow(leaving, prolific) // queued unfollow
    await follow(leaving, prolific) // and a queued follow again
    await smallChunks().runOnce()
    await ok('DELETE', '/api/v1/users/me', leaving.token, { password: leaving.password })
    expect(await entriesOf(pending.id)).toBe(0)
    await smallChunks().drain()
    expect(await one('SELECT count(*) FROM timeline_entries WHERE user_id = ?', [Number(leaving.id)])).toBe(0)
    await expectExact()
  })
})

describe('the worker', () => {
  test('jobs survive: a new worker on a new connection finishes what a crashed one started', async () => {
    const author = await createUser(ctx)
    await followedBy(author, await crowd(INLINE_FOLLOWERS + 60))
    const p = await post(author)
    const crashed = smallChunks()
    for (let i = 0; i < 3; i++) expect(await crashed.runOnce()).toBe('advanced')
    expect(await entriesOf(p.id)).toBe(1 + 3 * 7)
    // The first worker is gone mid-job (never stopped); another process opens the database.
    const other = await openDatabase(ctx.config.database)
    try {
      const worker = new FanoutWorker(other.db, ctx.logger)
      expect(await worker.backlog()).toBe(1)
      expect(await worker.drain()).toBeGreaterThan(0)
    } finally {
      other.close()
    }
    expect(await entriesOf(p.id)).toBe(INLINE_FOLLOWERS + 61)
    await expectExact()
  })

  test('two workers on one job: a stale chunk changes nothing', async () => {
    const author = await createUser(ctx)
    await followedBy(author, await crowd(INLINE_FOLLOWERS + 40))
    const p = await post(author)
    const a = smallChunks()
    const b = smallChunks()
    expect(await a.runOnce()).toBe('advanced') // a remembers the job at its new cursor
    expect(await b.runOnce()).toBe('advanced') // b reads that cursor and moves it on
    const before = await entriesOf(p.id)
    const cursor = (await jobs())[0]?.cursor
    expect(await a.runOnce()).toBe('lost') // a's copy is stale
    expect(await entriesOf(p.id)).toBe(before)
    expect((await jobs())[0]?.cursor).toBe(cursor)
    // Both keep going, alternating, and finish it once.
    let finished = 0
    for (let turn = 0; turn < 100; turn++) {
      const r = await (turn % 2 ? a : b).runOnce()
      if (r === 'finished') finished++
      if (r === 'idle') break
    }
    expect(finished).toBe(1)
    await expectExact()
  })

  test('started, it polls and writes queued fan-outs on its own; stopped, it leaves the rest queued', async () => {
    const author = await createUser(ctx)
    await followedBy(author, await crowd(INLINE_FOLLOWERS + 5))
    const worker = new FanoutWorker(ctx.database.db, ctx.logger, { pollMs: 10, maxPollMs: 20, checkpoint: true })
    worker.start()
    const p = await post(author)
    for (let i = 0; i < 200 && (await worker.backlog()) > 0; i++) await Bun.sleep(10)
    expect(await entriesOf(p.id)).toBe(INLINE_FOLLOWERS + 6)
    await worker.stop()
    const q = await post(author)
    await Bun.sleep(50)
    expect(await entriesOf(q.id)).toBe(1)
    expect(await worker.backlog()).toBe(1)
    await ctx.services.fanout.drain()
    await expectExact()
  })

  test('two instances running workers on one queue finish it, exact', async () => {
    const authors = [await createUser(ctx), await createUser(ctx)]
    const fans = await crowd(INLINE_FOLLOWERS + 80)
    for (const author of authors) await followedBy(author, fans)
    const other = await openDatabase(ctx.config.database)
    const options = { pollMs: 5, maxPollMs: 20, followersPerChunk: 7, postsPerChunk: 90 }
    const workers = [
      new FanoutWorker(ctx.database.db, ctx.logger, options),
      new FanoutWorker(other.db, ctx.logger, options),
    ]
    try {
      for (const worker of workers) worker.start()
      for (let i = 0; i < 6; i++) await post(authors[i % 2]!, `post ${i}`)
      for (let i = 0; i < 500 && (await workers[0]!.backlog()) > 0; i++) await Bun.sleep(10)
    } finally {
      for (const worker of workers) await worker.stop()
      other.close()
    }
    await expectExact()
  })

  test('a failing chunk is retried with backoff and logged', async () => {
    const warnings: unknown[] = []
    const logger = { warn: (o: unknown) => warnings.push(o), debug: () => {} } as unknown as Logger
    let calls = 0
    const db = {
      all: async () => {
        calls++
        if (calls <= 2) throw new Error('disk I/O error')
        return []
      },
    } as unknown as Db
    const worker = new FanoutWorker(db, logger, { pollMs: 5, maxPollMs: 5, baseBackoffMs: 20, maxBackoffMs: 40 })
    const started = performance.now()
    worker.start()
    for (let i = 0; i < 100 && calls < 4; i++) await Bun.sleep(5)
    await worker.stop()
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatchObject({ retry_in_ms: 20 })
    expect(warnings[1]).toMatchObject({ retry_in_ms: 40 })
    // Two backoffs (20 + 40 ms) before the third call.
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
  })
})

describe('random traffic on both paths, chunks of two workers in between', () => {
  for (const seed of [11, 12, 13]) {
    test(`seed ${seed}`, async () => {
      const rng = seededRandom(seed)
      const pick = <T>(items: T[]): T => items[Math.floor(rng() * items.length)]!
      const people: TestUser[] = []
      for (let i = 0; i < 7; i++) people.push(await createUser(ctx))
      // Around both limits, so the same account's writes go inline and queued by turns.
      await bulkPosts(people[0]!, INLINE_POSTS - 2)
      await bulkPosts(people[1]!, INLINE_POSTS + 40)
      const fans = await crowd(INLINE_FOLLOWERS + 10)
      await followedBy(people[2]!, fans.slice(0, INLINE_FOLLOWERS - 2))
      await followedBy(people[3]!, fans)
      await followedBy(people[1]!, fans.slice(0, INLINE_FOLLOWERS + 1))
      const postsBy = new Map<string, string[]>(people.map((p) => [p.id, []]))
      const workers = [smallChunks(), smallChunks()]
      const paths = new Set<string>()

      const check = async () => {
        await ctx.services.fanout.drain()
        await expectExact()
        for (const person of people)
          expect({ who: person.username, ids: await walk(person, 20 + Math.floor(rng() * 81)) }).toEqual({
            who: person.username,
            ids: await expectedTimeline(client, person.id),
          })
      }

      for (let step = 1; step <= 200; step++) {
        const me = pick(people)
        const other = pick(people.filter((p) => p !== me))
        const roll = rng()
        const queued = await one('SELECT count(*) FROM timeline_jobs')
        if (roll < 0.3) postsBy.get(me.id)!.push((await post(me, `post ${step}`)).id)
        else if (roll < 0.42) {
          const mine = postsBy.get(me.id)!
          if (mine.length > 0)
            await ok('DELETE', `/api/v1/posts/${mine.splice(Math.floor(rng() * mine.length), 1)[0]}`, me.token)
        } else if (roll < 0.68) await follow(me, other)
        else if (roll < 0.88) await unfollow(me, other)
        else {
          // A fan follows or leaves, moving an account across the followers limit.
          const fan = pick(fans)
          const star = pick(people.slice(1, 4))
          if (rng() < 0.5) await followedBy(star, [fan])
          else
            await client.execute({
              sql: 'DELETE FROM follows WHERE follower_id = ? AND followee_id = ?',
              args: [fan, Number(star.id)],
            })
        }
        paths.add((await one('SELECT count(*) FROM timeline_jobs')) > queued ? 'queued' : 'inline')
        // Now and then the queue order flips, as if instances took jobs in any order.
        if (rng() < 0.1) await client.execute('UPDATE timeline_jobs SET id = -id')
        for (let k = Math.floor(rng() * 4); k > 0; k--) await pick(workers).runOnce()
        if (step === 150) {
          const leaving = pick(people)
          await ok('DELETE', '/api/v1/users/me', leaving.token, { password: leaving.password })
          people.splice(people.indexOf(leaving), 1)
          postsBy.delete(leaving.id)
        }
        if (step % 50 === 0) await check()
      }
      expect([...paths].sort()).toEqual(['inline', 'queued'])
      await check()
    }, 60_000)
  }
})

import { describe, expect, test } from 'bun:test'
import { Keyset } from '../src/http/pagination'
import { createUser, seededRandom } from './factories'
import { createTestContext } from './helpers'

// Every post list is one statement that walks one index in the list's order and stops at the
// page (PostService.#page). ANALYZE statistics must not change that: with an inner join to users
// they made SQLite build a Bloom filter over the whole users table for every page of the feed.

const ctx = await createTestContext()

async function ok(method: string, path: string, token: string, body?: unknown) {
  const res = await ctx.call(method, path, { token, body })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`)
  return res.body
}

describe('the plans of the post lists', () => {
  test('walk the list index in order, look each author up by primary key, sort nothing; with and without ANALYZE', async () => {
    const random = seededRandom(7)
    const users = await Promise.all(Array.from({ length: 12 }, () => createUser(ctx)))
    const me = users[0]!
    for (const other of users.slice(1, 8)) await ok('PUT', `/api/v1/users/${other.username}/follow`, me.token)
    const ids: string[] = []
    for (let i = 0; i < 120; i++) {
      const author = users[Math.floor(random() * users.length)]!
      const replyTo = ids.length > 0 && random() < 0.3 ? ids[Math.floor(random() * ids.length)] : undefined
      const post = await ok('POST', '/api/v1/posts', author.token, { text: `p${i}`, reply_to_id: replyTo })
      ids.push(post.id)
      if (random() < 0.3) await ok('PUT', `/api/v1/posts/${ids[Math.floor(random() * ids.length)]}/like`, me.token)
    }
    const { posts, likes, timeline } = ctx.services
    const viewer = Number(me.id)
    const parent = Number(ids[0])
    const next = (list: string, key: number) => ({ limit: 20, cursor: new Keyset(list, ['int']).encode([key]) })
    const lists: Record<string, () => Promise<unknown>> = {
      feed: () => posts.feed(false, { limit: 20 }),
      'feed, next page, a viewer': () => posts.feed(false, next('posts', 1_000_000), viewer),
      'feed with replies, limit 50': () => posts.feed(true, { limit: 50 }, viewer),
      'a user': () => posts.byAuthor(me.username, false, { limit: 20 }),
      'a user with replies, next page': () => posts.byAuthor(me.username, true, next('user-posts', 1_000_000), viewer),
      timeline: () => timeline.home(viewer, { limit: 20 }),
      'timeline, next page': () => timeline.home(viewer, next('timeline', 1_000_000)),
      replies: () => posts.replies(parent, { limit: 20 }),
      'replies, next page': () => posts.replies(parent, next('replies', 1), viewer),
      'liked by a user': () => likes.likedBy(me.username, { limit: 20 }),
      'liked by a user, next page': () => likes.likedBy(me.username, next('user-likes', 1_000_000), viewer),
    }
    const plans = async () => {
      const out: Record<string, string[]> = {}
      for (const [name, list] of Object.entries(lists)) {
        ctx.queries.length = 0
        await list()
        const sql = ctx.queries.at(-1) as string
        const args = Array.from(sql.matchAll(/\?/g), () => 1)
        const plan = await ctx.database.client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args })
        out[name] = plan.rows.map((r) => String(r.detail))
      }
      return out
    }
    const expectGood = (all: Record<string, string[]>) => {
      for (const [name, plan] of Object.entries(all)) {
        const where = `${name}: ${plan.join(' | ')}`
        expect(
          plan.filter((line) => /BLOOM|TEMP B-TREE|AUTOMATIC/.test(line)),
          where,
        ).toEqual([])
        expect(
          plan.filter((line) => / u /.test(line)),
          where,
        ).toEqual(['SEARCH u USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN'])
        expect(plan.indexOf('SEARCH u USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN'), where).toBeGreaterThan(0)
      }
      expect(all.timeline?.slice(0, 2)).toEqual([
        'SEARCH timeline_entries USING PRIMARY KEY (user_id=?)',
        'SEARCH posts USING INTEGER PRIMARY KEY (rowid=?)',
      ])
      expect(all['timeline, next page']?.[0]).toBe(
        'SEARCH timeline_entries USING PRIMARY KEY (user_id=? AND post_id<?)',
      )
      expect(all['liked by a user']?.[0]).toStartWith('SEARCH likes USING INDEX likes_user_id_idx (user_id=?)')
      expect(all['a user']?.[0]).toStartWith('SEARCH posts USING INDEX posts_author_')
      expect(all.replies?.[0]).toStartWith('SEARCH posts USING INDEX posts_reply_to_id_idx (reply_to_id=?)')
    }
    const before = await plans()
    expectGood(before)
    await ctx.database.client.execute('ANALYZE')
    const stats = await ctx.database.client.execute("SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl = 'posts'")
    expect(Number(stats.rows[0]?.n)).toBeGreaterThan(0)
    const after = await plans()
    expectGood(after)
    expect(after.timeline).toEqual(before.timeline!)
  })
})

import { describe, expect, test } from 'bun:test'
import { createUser, makeAdmin, seededRandom, type TestUser } from './factories'
import { createTestContext } from './helpers'
import { entryMismatches, expectedTimeline } from './timeline-oracle'

// timeline_entries is written on fan-out by triggers: whatever happens through the API, it must
// hold exactly the brute-force answer, and every timeline must page through to it.

const ctx = await createTestContext()

async function ok(method: string, path: string, token: string, body?: unknown) {
  const res = await ctx.call(method, path, { token, body })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`)
  return res.body
}

async function walk(token: string, limit: number): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  for (let guard = 0; guard < 1000; guard++) {
    const body = await ok('GET', `/api/v1/timeline?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token)
    ids.push(...body.items.map((p: { id: string }) => p.id))
    cursor = body.next_cursor
    if (!cursor) return ids
  }
  throw new Error('too many pages')
}

describe('timeline_entries under random traffic', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: posts, replies, deletes, follows, unfollows, disables and an account deletion`, async () => {
      const rng = seededRandom(seed)
      const pick = <T>(items: T[]): T => items[Math.floor(rng() * items.length)]!
      const admin = await createUser(ctx)
      await makeAdmin(ctx, admin)
      const people: TestUser[] = []
      for (let i = 0; i < 6; i++) people.push(await createUser(ctx))
      const postsBy = new Map<string, string[]>(people.map((p) => [p.id, []]))
      const disabled = new Set<string>()
      const allPosts = () => [...postsBy.values()].flat()

      const check = async () => {
        expect(await entryMismatches(ctx.database.client)).toEqual({ extra: 0, missing: 0 })
        for (const person of people) {
          if (disabled.has(person.id)) continue
          const limit = 1 + Math.floor(rng() * 4)
          expect({ who: person.username, ids: await walk(person.token, limit) }).toEqual({
            who: person.username,
            ids: await expectedTimeline(ctx.database.client, person.id),
          })
        }
      }

      for (let step = 1; step <= 240; step++) {
        const me = pick(people.filter((p) => !disabled.has(p.id)))
        const other = pick(people.filter((p) => p !== me))
        const roll = rng()
        if (roll < 0.35) {
          const parents = allPosts()
          const replyTo = parents.length > 0 && rng() < 0.3 ? pick(parents) : undefined
          const body = await ctx.call('POST', '/api/v1/posts', {
            token: me.token,
            body: { text: `post ${step}`, ...(replyTo ? { reply_to_id: replyTo } : {}) },
          })
          // A reply to a disabled author's post is refused: that is fine here.
          if (body.status === 201) postsBy.get(me.id)!.push(body.body.id)
        } else if (roll < 0.45) {
          const mine = postsBy.get(me.id)!
          if (mine.length > 0) {
            const id = mine.splice(Math.floor(rng() * mine.length), 1)[0]!
            await ok('DELETE', `/api/v1/posts/${id}`, me.token)
          }
        } else if (roll < 0.78) {
          if (!disabled.has(other.id)) await ok('PUT', `/api/v1/users/${other.username}/follow`, me.token)
        } else if (roll < 0.95) {
          if (!disabled.has(other.id)) await ok('DELETE', `/api/v1/users/${other.username}/follow`, me.token)
        } else {
          // Keep at least two enabled accounts to act.
          const off = !disabled.has(other.id) && people.length - disabled.size > 2
          await ok('PATCH', `/api/v1/admin/users/${other.username}`, admin.token, { disabled: off })
          if (off) disabled.add(other.id)
          else {
            // Disabling ended the account's sessions.
            disabled.delete(other.id)
            const signIn = await ctx.call('POST', '/api/v1/auth/token', {
              body: { grant_type: 'password', username: other.username, password: other.password },
            })
            other.token = signIn.body.access_token
          }
        }
        if (step % 40 === 0) await check()
        if (step === 160) {
          // One account goes, with its posts and follows on both sides (cascades).
          const leaving = pick(people.filter((p) => !disabled.has(p.id)))
          await ok('DELETE', '/api/v1/users/me', leaving.token, { password: leaving.password })
          people.splice(people.indexOf(leaving), 1)
          postsBy.delete(leaving.id)
          await check()
        }
      }
      await check()
    })
  }

  test('the oracle notices a stale or a missing entry', async () => {
    const client = ctx.database.client
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
    const any = (await client.execute('SELECT user_id, post_id FROM timeline_entries LIMIT 1')).rows[0]!
    await client.execute({
      sql: 'DELETE FROM timeline_entries WHERE user_id = ? AND post_id = ?',
      args: [any[0]!, any[1]!],
    })
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 1 })
    await client.execute({ sql: 'INSERT INTO timeline_entries VALUES (?, ?)', args: [any[0]!, any[1]!] })
    await client.execute({ sql: 'INSERT INTO timeline_entries VALUES (?, 999999)', args: [any[0]!] })
    expect(await entryMismatches(client)).toEqual({ extra: 1, missing: 0 })
    await client.execute({ sql: 'DELETE FROM timeline_entries WHERE post_id = 999999', args: [] })
  })
})

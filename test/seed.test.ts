import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Client, createClient } from '@libsql/client'
import { Value } from '@sinclair/typebox/value'
import { RegisterBody } from '../src/modules/auth/model'
import { CreatePostBody } from '../src/modules/posts/model'
import { normalizeText } from '../src/modules/posts/service'
import { INLINE_FOLLOWERS, INLINE_POSTS } from '../src/modules/timeline/fanout'
import { UpdateMeBody } from '../src/modules/users/model'
import { createTestContext } from './helpers'
import { entryMismatches } from './timeline-oracle'

// `pamps seed` runs as a subprocess against temporary file databases, like a user would.

const dir = mkdtempSync(join(tmpdir(), 'pamps-seed-'))
const clients: Client[] = []
afterAll(() => {
  for (const client of clients) client.close()
  rmSync(dir, { recursive: true, force: true })
})

const PASSWORD = 'pamps-demo-password'
const urlOf = (name: string) => `file:${join(dir, name)}`

function pamps(args: string[], db: string, extra: Record<string, string> = {}) {
  const proc = Bun.spawnSync([process.execPath, 'src/cli/index.ts', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: urlOf(db),
      JWT_SECRET: 'seed-secret-seed-secret-seed-secret-seed',
      PASSWORD_MEMORY_COST: '1024',
      PASSWORD_TIME_COST: '1',
      NODE_ENV: 'test',
      ...extra,
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}

function open(db: string): Client {
  const client = createClient({ url: urlOf(db) })
  clients.push(client)
  return client
}

const rows = async (client: Client, sql: string) => (await client.execute(sql)).rows.map((r) => ({ ...r }))
const one = async (client: Client, sql: string) => Number((await client.execute(sql)).rows[0]?.[0])

const TABLES = {
  users:
    'id, username, email, display_name, bio, avatar_url, role, disabled, email_verified, followers_count, following_count, posts_count, created_at, updated_at',
  posts: 'id, author_id, text, reply_to_id, created_at, edited_at, likes_count, replies_count',
  follows: 'id, follower_id, followee_id, created_at',
  likes: 'id, user_id, post_id, created_at',
}

async function snapshot(client: Client) {
  const out: Record<string, unknown> = {}
  for (const [name, columns] of Object.entries(TABLES)) {
    out[`${name}:count`] = await one(client, `SELECT count(*) FROM ${name}`)
    out[`${name}:first`] = await rows(client, `SELECT ${columns} FROM ${name} ORDER BY id LIMIT 40`)
  }
  out['timeline_entries:count'] = await one(client, 'SELECT count(*) FROM timeline_entries')
  out['timeline_entries:sum'] = await one(client, 'SELECT sum(user_id * 1000003 + post_id) FROM timeline_entries')
  return out
}

/** Every trigger, by name and definition. */
const triggers = (client: Client) =>
  rows(client, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
const TIMELINE_TRIGGERS = [
  'timeline_follows_after_delete',
  'timeline_follows_after_insert',
  'timeline_posts_after_delete',
  'timeline_posts_after_insert',
]

/** Every stored counter against COUNT(*) of the rows it counts: the number of rows that disagree. */
async function counterMismatches(client: Client) {
  return {
    users: await one(
      client,
      `SELECT count(*) FROM users u WHERE
        followers_count <> (SELECT count(*) FROM follows WHERE followee_id = u.id) OR
        following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id) OR
        posts_count <> (SELECT count(*) FROM posts WHERE author_id = u.id)`,
    ),
    posts: await one(
      client,
      `SELECT count(*) FROM posts p WHERE
        likes_count <> (SELECT count(*) FROM likes WHERE post_id = p.id) OR
        replies_count <> (SELECT count(*) FROM posts r WHERE r.reply_to_id = p.id)`,
    ),
  }
}

const SMALL = ['--users', '120', '--posts', '900', '--follows', '1500', '--likes', '2500', '--heavy-follows', '30']

describe('pamps seed: deterministic', () => {
  test('a fixed seed twice into two fresh databases → identical row counts and first rows', async () => {
    const first = pamps(['seed', ...SMALL, '--random-seed', '7'], 'a.db')
    expect(first.stderr).not.toContain('pamps:')
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('--random-seed 7')
    expect(first.stdout).toMatch(/^timeline\s+10707\s+[\d.]+\s+\d+$/m)
    expect(first.stdout).toMatch(/total\s+15757\s+[\d.]+\s+\d+/)
    expect(first.stdout).toContain(`password "${PASSWORD}"`)
    expect(first.stdout).toContain('The heavy user "heavy" follows 30 accounts')
    const second = pamps(['seed', ...SMALL, '--random-seed', '7'], 'b.db')
    expect(second.code).toBe(0)

    const a = await snapshot(open('a.db'))
    expect(a['users:count']).toBe(120)
    expect(a['posts:count']).toBe(900)
    expect(a['follows:count']).toBe(1530)
    expect(a['likes:count']).toBe(2500)
    expect(a['timeline_entries:count']).toBe(10707)
    expect(await snapshot(open('b.db'))).toEqual(a)
    expect(await entryMismatches(open('a.db'))).toEqual({ extra: 0, missing: 0 })

    // Transactions of a few hundred rows (live indexes, the remote path) write the very same rows.
    const batched = pamps(['seed', ...SMALL, '--random-seed', '7', '--batch', '333'], 'c.db')
    expect(batched.code).toBe(0)
    expect(batched.stdout).toContain('transactions of 333 rows')
    expect(await snapshot(open('c.db'))).toEqual(a)
    // One transaction drops the fan-out triggers and writes the entries itself; batches keep
    // them live. Either way the same entries, and the same triggers afterwards.
    const names = (await triggers(open('a.db'))).map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(TIMELINE_TRIGGERS))
    expect(await triggers(open('a.db'))).toEqual(await triggers(open('c.db')))

    // Another seed, other rows.
    expect(pamps(['seed', ...SMALL, '--random-seed', '8'], 'd.db').code).toBe(0)
    const d = await snapshot(open('d.db'))
    expect(d['users:count']).toBe(120)
    expect(d['users:first']).not.toEqual(a['users:first'])
    expect(d['posts:first']).not.toEqual(a['posts:first'])
  })

  test('every seeded user shares one argon2id hash of the printed password', async () => {
    const hashes = await rows(open('a.db'), 'SELECT DISTINCT password_hash AS h FROM users')
    expect(hashes).toHaveLength(1)
    const hash = String(hashes[0]?.h)
    expect(hash).toStartWith('$argon2id$')
    expect(await Bun.password.verify(PASSWORD, hash)).toBe(true)
  })

  test('appending to a seeded database keeps names unique and every count exact', async () => {
    const client = open('a.db')
    const again = pamps(['seed', ...SMALL, '--random-seed', '7'], 'a.db')
    expect(again.code).toBe(0)
    const batched = pamps(['seed', '--users', '40', '--posts', '200', '--random-seed', '9', '--batch', '50'], 'a.db')
    expect(batched.code).toBe(0)
    expect(await one(client, 'SELECT count(*) FROM users')).toBe(280)
    expect(await one(client, 'SELECT count(*) FROM posts')).toBe(2000)
    expect(await one(client, 'SELECT count(DISTINCT lower(username)) FROM users')).toBe(280)
    expect(await one(client, "SELECT count(*) FROM users WHERE username GLOB 'heavy*'")).toBe(2)
    expect(await counterMismatches(client)).toEqual({ users: 0, posts: 0 })
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
    expect(await triggers(client)).toEqual(await triggers(open('c.db')))
    // Relations only join rows of the same run (users 1–120, 121–240, 241–280): none crosses runs.
    expect(
      await one(client, 'SELECT count(*) FROM follows WHERE (follower_id - 1) / 120 <> (followee_id - 1) / 120'),
    ).toBe(0)
    expect(
      await one(
        client,
        'SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE (l.user_id - 1) / 120 <> (p.author_id - 1) / 120',
      ),
    ).toBe(0)
  })
})

describe('pamps seed: fan-outs queued by live triggers', () => {
  test('in batches, follows of accounts with many posts are queued and written before the seed returns', async () => {
    // 12,000 posts among 30 users: the most prolific have more than INLINE_POSTS each.
    const args = ['seed', '--users', '30', '--posts', '12000', '--follows', '200', '--likes', '0', '--random-seed', '5']
    const batched = pamps([...args, '--batch', '1000'], 'queued.db')
    expect(batched.code).toBe(0)
    expect(batched.stdout).toMatch(/and by \d+ queued fan-outs afterwards\./)
    const client = open('queued.db')
    expect(
      await one(client, `SELECT count(*) FROM users WHERE posts_count > ${INLINE_POSTS} AND followers_count > 0`),
    ).toBeGreaterThan(0)
    expect(await one(client, 'SELECT count(*) FROM timeline_jobs')).toBe(0)
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
    // One transaction writes the same entries and queues nothing.
    const whole = pamps(args, 'whole.db')
    expect(whole.code).toBe(0)
    expect(await one(open('whole.db'), 'SELECT count(*) FROM timeline_jobs')).toBe(0)
    expect(await snapshot(open('whole.db'))).toEqual(await snapshot(client))
  })
})

// The check: after `seed --users 1000 --posts 20000`, the API's counts equal COUNT(*).
const seeded = pamps(['seed', '--users', '1000', '--posts', '20000', '--random-seed', '2026'], 'counts.db')
const ctx = await createTestContext({ DATABASE_URL: urlOf('counts.db') })

describe('pamps seed --users 1000 --posts 20000', () => {
  test('runs and reports rows per second', () => {
    expect(seeded.stderr).not.toContain('pamps:')
    expect(seeded.code).toBe(0)
    for (const table of ['users', 'posts', 'follows', 'likes', 'timeline', 'total'])
      expect(seeded.stdout).toMatch(new RegExp(`^${table}\\s+\\d+\\s+[\\d.]+\\s+\\d+$`, 'm'))
  })

  test("the API's counts equal COUNT(*) for a sample of users and posts", async () => {
    const client = open('counts.db')
    expect(await one(client, 'SELECT count(*) FROM users')).toBe(1000)
    expect(await one(client, 'SELECT count(*) FROM posts')).toBe(20000)
    expect(await one(client, 'SELECT count(*) FROM follows')).toBe(20000)
    expect(await one(client, 'SELECT count(*) FROM likes')).toBe(40000)

    // The most followed, the most prolific, and a spread of ordinary users.
    const users = await rows(
      client,
      `SELECT id, username FROM users WHERE id IN (
        SELECT id FROM (SELECT id FROM users ORDER BY followers_count DESC LIMIT 3)
        UNION SELECT id FROM (SELECT id FROM users ORDER BY posts_count DESC LIMIT 3)
        UNION SELECT id FROM users WHERE id % 97 = 0)`,
    )
    expect(users.length).toBeGreaterThan(10)
    for (const u of users) {
      const res = await ctx.call('GET', `/api/v1/users/${u.username}`)
      expect(res.status).toBe(200)
      const id = Number(u.id)
      expect({
        username: u.username,
        followers_count: res.body.followers_count,
        following_count: res.body.following_count,
        posts_count: res.body.posts_count,
      }).toEqual({
        username: u.username,
        followers_count: await one(client, `SELECT count(*) FROM follows WHERE followee_id = ${id}`),
        following_count: await one(client, `SELECT count(*) FROM follows WHERE follower_id = ${id}`),
        posts_count: await one(client, `SELECT count(*) FROM posts WHERE author_id = ${id}`),
      })
    }

    const posts = await rows(
      client,
      `SELECT id FROM posts WHERE id IN (
        SELECT id FROM (SELECT id FROM posts ORDER BY likes_count DESC LIMIT 3)
        UNION SELECT id FROM (SELECT id FROM posts ORDER BY replies_count DESC LIMIT 3)
        UNION SELECT id FROM posts WHERE id % 499 = 0)`,
    )
    expect(posts.length).toBeGreaterThan(30)
    for (const p of posts) {
      const id = Number(p.id)
      const res = await ctx.call('GET', `/api/v1/posts/${id}`)
      expect(res.status).toBe(200)
      expect({ id, likes_count: res.body.likes_count, replies_count: res.body.replies_count }).toEqual({
        id,
        likes_count: await one(client, `SELECT count(*) FROM likes WHERE post_id = ${id}`),
        replies_count: await one(client, `SELECT count(*) FROM posts WHERE reply_to_id = ${id}`),
      })
    }

    // And every other row, by SQL.
    expect(await counterMismatches(client)).toEqual({ users: 0, posts: 0 })
  })

  test('timeline_entries holds exactly every seeded timeline, and posting fans out again afterwards', async () => {
    const client = open('counts.db')
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
    const famous = (
      await rows(client, 'SELECT username, followers_count FROM users ORDER BY followers_count DESC LIMIT 1')
    )[0]!
    expect(Number(famous.followers_count)).toBeGreaterThan(0)
    const signIn = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: famous.username, password: PASSWORD },
    })
    const posted = await ctx.call('POST', '/api/v1/posts', {
      token: signIn.body.access_token,
      body: { text: 'hello, followers' },
    })
    expect(posted.status).toBe(201)
    // Past INLINE_FOLLOWERS, only the author's own entry is written at once; the followers' are
    // queued and written as the queue drains.
    expect(Number(famous.followers_count)).toBeGreaterThan(INLINE_FOLLOWERS)
    const entries = () => one(client, `SELECT count(*) FROM timeline_entries WHERE post_id = ${Number(posted.body.id)}`)
    expect(await entries()).toBe(1)
    await ctx.services.fanout.drain()
    expect(await entries()).toBe(Number(famous.followers_count) + 1)
    expect(await entryMismatches(client)).toEqual({ extra: 0, missing: 0 })
  })

  test("usernames, emails, profiles and texts pass the API's validation", async () => {
    const client = open('counts.db')
    for (const u of await rows(client, 'SELECT username, email, display_name, bio FROM users')) {
      const register = { username: u.username, email: u.email, password: PASSWORD, display_name: u.display_name }
      expect({ u: u.username, ok: Value.Check(RegisterBody, register) }).toEqual({ u: u.username, ok: true })
      expect(Value.Check(UpdateMeBody, { display_name: u.display_name, bio: u.bio })).toBe(true)
    }
    for (const p of await rows(client, 'SELECT text FROM posts')) {
      const text = String(p.text)
      expect(normalizeText(text)).toBe(text)
      expect(Value.Check(CreatePostBody, { text })).toBe(true)
    }
  })

  test('the data looks like a social network: replies, deep threads, skewed followers, no repeats', async () => {
    const client = open('counts.db')
    const replies = await one(client, 'SELECT count(*) FROM posts WHERE reply_to_id IS NOT NULL')
    expect(replies).toBeGreaterThan(4000)
    expect(replies).toBeLessThan(8000)
    const deepest = await one(
      client,
      `WITH RECURSIVE chain(id, depth) AS (
        SELECT id, 1 FROM posts WHERE reply_to_id IS NULL
        UNION ALL SELECT p.id, c.depth + 1 FROM posts p JOIN chain c ON p.reply_to_id = c.id)
      SELECT max(depth) FROM chain`,
    )
    expect(deepest).toBeGreaterThanOrEqual(4)
    const top = await one(client, 'SELECT max(followers_count) FROM users')
    const median = await one(
      client,
      'SELECT followers_count FROM users ORDER BY followers_count LIMIT 1 OFFSET (SELECT count(*) / 2 FROM users)',
    )
    expect(top).toBeGreaterThan(10 * Math.max(median, 1))
    expect(await one(client, 'SELECT count(*) FROM follows WHERE follower_id = followee_id')).toBe(0)
    expect(
      await one(
        client,
        'SELECT count(*) FROM (SELECT 1 FROM follows GROUP BY follower_id, followee_id HAVING count(*) > 1)',
      ),
    ).toBe(0)
    expect(
      await one(client, 'SELECT count(*) FROM (SELECT 1 FROM likes GROUP BY user_id, post_id HAVING count(*) > 1)'),
    ).toBe(0)
    // Nothing happens before what it refers to exists.
    expect(
      await one(
        client,
        'SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE l.created_at < p.created_at',
      ),
    ).toBe(0)
    expect(
      await one(
        client,
        'SELECT count(*) FROM posts p JOIN users u ON u.id = p.author_id WHERE p.created_at < u.created_at',
      ),
    ).toBe(0)
  })

  test('a seeded user signs in with the printed password', async () => {
    const client = open('counts.db')
    const username = String(
      (await rows(client, 'SELECT username FROM users ORDER BY id LIMIT 1 OFFSET 5'))[0]?.username,
    )
    const res = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username, password: PASSWORD },
    })
    expect(res.status).toBe(200)
    expect(typeof res.body.access_token).toBe('string')
  })
})

describe('pamps seed: errors are one line and a non-zero exit', () => {
  const cases: Array<[string[], string]> = [
    [['--users', 'many'], '--users'],
    [['--users', '-5'], '--users'],
    [['--posts', '1.5'], '--posts'],
    [['--random-seed', '99999999999'], '--random-seed'],
    [['--batch', '0'], '--batch'],
    [['--users', '3', '--follows', '100'], '--follows'],
    [['--users', '2', '--posts', '2', '--likes', '5'], '--likes'],
    [['--users', '0', '--posts', '5'], '--posts'],
    [['--users', '5', '--heavy-follows', '5'], '--heavy-follows'],
    [['--password', 'short'], '--password'],
    [['--bogus'], '--bogus'],
  ]
  for (const [args, mentions] of cases)
    test(`seed ${args.join(' ')}`, () => {
      const res = pamps(['seed', ...args], 'errors.db')
      expect(res.code).not.toBe(0)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
      expect(res.stderr).toContain(mentions)
      expect(res.stdout).toBe('')
    })

  test('an unreachable database', () => {
    const res = pamps(['seed', '--users', '5'], 'unused.db', { DATABASE_URL: 'http://127.0.0.1:1' })
    expect(res.code).not.toBe(0)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toContain('cannot open the database')
  })
})

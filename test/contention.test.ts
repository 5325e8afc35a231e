/**
 * Contention, the short variant: a real server process and this test process write to one
 * database file at once (two connections, two processes), so SQLite's locks are really
 * contended. Counts must be exact, duplicates must collapse, one refresh token must rotate at
 * most once, and no client may see SQLITE_BUSY (a 503, or a 5xx of any kind).
 * The long variant, with more processes, is `npm run test:reliability` (test-reliability/).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServices } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import type { Viewer } from '../src/modules/auth/service'
import { startServerProcess } from './processes'

const dir = mkdtempSync(join(tmpdir(), 'pamps-contention-'))
const env = {
  DATABASE_URL: `file:${join(dir, 'contention.db')}`,
  JWT_SECRET: 'contention-secret-contention-secret-contention',
  PASSWORD_MEMORY_COST: '1024',
  PASSWORD_TIME_COST: '1',
  AUTH_RATE_LIMIT: '0',
  WRITE_RATE_LIMIT: '0',
}

const { proc: server, base } = await startServerProcess(env)

// The second writer: this process, through the same services the server uses, on the same file.
const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' })
const database = await openDatabase(config.database)
const services = createServices({ config, database, logger: (await import('../src/logger')).createLogger('silent') })

afterAll(async () => {
  database.close()
  server.kill('SIGTERM')
  await server.exited
  rmSync(dir, { recursive: true, force: true })
})

const statuses: number[] = []
const busyErrors: string[] = []
async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  statuses.push(res.status)
  if (res.status >= 500 || /SQLITE_BUSY|database is locked/i.test(text))
    busyErrors.push(`${method} ${path}: ${res.status} ${text}`)
  return { status: res.status, body: text ? JSON.parse(text) : null }
}
/** A direct write through the services; SQLITE_BUSY here would be the second process's failure. */
async function direct<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (error) {
    busyErrors.push(`direct: ${String((error as Error)?.message ?? error)}`)
    throw error
  }
}

interface User {
  id: string
  username: string
  token: string
  refreshToken: string
  viewer: Viewer
}
let counter = 0
async function register(): Promise<User> {
  const username = `c${++counter}_${Math.random().toString(36).slice(2, 7)}`
  const res = await call('POST', '/api/v1/auth/register', {
    username,
    email: `${username}@example.com`,
    password: 'password123',
  })
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`)
  const sid = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString()).sid
  return {
    id: res.body.user.id,
    username,
    token: res.body.access_token,
    refreshToken: res.body.refresh_token,
    viewer: { id: Number(res.body.user.id), username, role: 'user', sessionId: sid },
  }
}
/** Registers `n` users, 8 at a time: sign-ups are not what this file contends on. */
async function registerMany(n: number): Promise<User[]> {
  const out: User[] = []
  for (let i = 0; i < n; i += 8) out.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, register))))
  return out
}
const count = async (sql: string, args: Array<number>) =>
  Number((await database.client.execute({ sql, args })).rows[0]?.n)

describe('two processes writing one database file', () => {
  test('64 likes over HTTP and 32 direct likes on one post at once → likes_count exactly 96', async () => {
    const author = await register()
    const postId = (await call('POST', '/api/v1/posts', { text: 'contended' }, author.token)).body.id
    const users = await registerMany(96)
    const overHttp = users.slice(0, 64).map((u) => call('PUT', `/api/v1/posts/${postId}/like`, undefined, u.token))
    const directly = users.slice(64).map((u) => direct(() => services.likes.like(u.viewer, Number(postId))))
    const [http, own] = await Promise.all([Promise.all(overHttp), Promise.all(directly)])
    expect(http.map((r) => r.status)).toEqual(Array(64).fill(200))
    // Each answer's count is exact at its commit: all different, the highest is the total.
    const counts = [...http.map((r) => r.body.likes_count as number), ...own.map((r) => r.likesCount)]
    expect(new Set(counts).size).toBe(96)
    expect(Math.max(...counts)).toBe(96)
    expect((await call('GET', `/api/v1/posts/${postId}`)).body.likes_count).toBe(96)
    expect(await count('SELECT count(*) AS n FROM likes WHERE post_id = ?', [Number(postId)])).toBe(96)
  })

  test('identical follows from both processes collapse to one; 32 distinct follows count 32', async () => {
    const follower = await register()
    const target = await register()
    const same = [
      ...Array.from({ length: 32 }, () =>
        call('PUT', `/api/v1/users/${target.username}/follow`, undefined, follower.token),
      ),
      ...Array.from({ length: 16 }, () => direct(() => services.follows.follow(follower.viewer, target.username))),
    ]
    await Promise.all(same)
    expect((await call('GET', `/api/v1/users/${target.username}`)).body.followers_count).toBe(1)
    expect(await count('SELECT count(*) AS n FROM follows WHERE followee_id = ?', [Number(target.id)])).toBe(1)

    const popular = await register()
    const fans = await registerMany(32)
    await Promise.all(
      fans.map((f, i) =>
        i % 2 === 0
          ? call('PUT', `/api/v1/users/${popular.username}/follow`, undefined, f.token)
          : direct(() => services.follows.follow(f.viewer, popular.username)),
      ),
    )
    expect((await call('GET', `/api/v1/users/${popular.username}`)).body.followers_count).toBe(32)
  })

  test('16 parallel refreshes of one refresh token → at most one succeeds, the rest 401', async () => {
    const u = await register()
    const results = await Promise.all(
      Array.from({ length: 16 }, () => call('POST', '/api/v1/auth/refresh', { refresh_token: u.refreshToken })),
    )
    const ok = results.filter((r) => r.status === 200)
    expect(ok.length).toBeLessThanOrEqual(1)
    expect(results.filter((r) => r.status === 401).length).toBe(16 - ok.length)
  })

  test('no client saw SQLITE_BUSY: no 5xx over HTTP, no error in the second process', () => {
    expect(busyErrors).toEqual([])
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.length).toBeGreaterThan(250)
  })
})

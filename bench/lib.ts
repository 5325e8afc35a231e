import { mkdtempSync, rmSync } from 'node:fs'
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
      // `DATABASE_FILE_DRIVER=libsql npm run bench` measures the other file driver.
      ...(process.env.DATABASE_FILE_DRIVER ? { DATABASE_FILE_DRIVER: process.env.DATABASE_FILE_DRIVER } : {}),
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

export type LoadOptions = autocannon.Options & {
  /** Paths to cycle through, one per request (instead of `url`'s own path). */
  paths?: string[]
  /**
   * Seconds of the same load, run first and not measured: a server (and a ceiling) just
   * started runs its first thousands of requests in JavaScriptCore's lower tiers, not yet
   * compiled; measured cold, a scenario's figure depends on how long its JIT took.
   */
  warmup?: number
}

/** The load generator: wrk when it is installed (it costs the shared CPU less), else autocannon. */
export const generator: 'wrk' | 'autocannon' =
  process.env.BENCH_GENERATOR === 'autocannon' || !Bun.which('wrk') ? 'autocannon' : 'wrk'

/**
 * Drives load for a fixed time and summarises it. A fixed offered rate (`overallRate`) or a
 * list of different requests (`requests`) always uses autocannon; everything else uses
 * `generator`.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const { warmup, ...measured } = options
  if (warmup) await load({ ...measured, duration: warmup })
  if (generator === 'wrk' && !measured.overallRate && !measured.requests) return wrk(measured)
  const { paths, ...rest } = measured
  let i = 0
  const cycled = paths
    ? {
        requests: [
          {
            method: rest.method,
            setupRequest: (r: object) => ({ ...r, path: paths[i++ % paths.length] }),
          },
        ],
      }
    : {}
  const result = await autocannon({ duration: 10, connections: 32, ...rest, ...cycled } as autocannon.Options)
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

/** One wrk run (one thread: the server has the other core); a Lua script cycles paths and reports JSON. */
async function wrk(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url as string)
  const paths = options.paths ?? [url.pathname + url.search]
  const headers = Object.entries(options.headers ?? {})
  const lua = `
local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local i = 0
wrk.method = ${JSON.stringify(options.method ?? 'GET')}
${options.body ? `wrk.body = ${JSON.stringify(String(options.body))}` : ''}
${headers.map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(String(v))}`).join('\n')}
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50":%d,"p99":%d,"p999":%d,"errors":%d,"non_2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`
  const dir = mkdtempSync(join(tmpdir(), 'pamps-wrk-'))
  const script = join(dir, 'scenario.lua')
  await Bun.write(script, lua)
  const proc = Bun.spawn(
    [
      'wrk',
      '-t1',
      `-c${options.connections ?? 32}`,
      `-d${options.duration ?? 10}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      `${url.protocol}//${url.host}`,
    ],
    { stdout: 'pipe', stderr: 'inherit' },
  )
  const out = await new Response(proc.stdout).text()
  await proc.exited
  rmSync(dir, { recursive: true, force: true })
  const line = out.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) throw new Error(`wrk printed no result:\n${out}`)
  const r = JSON.parse(line.slice('RESULT '.length)) as Record<string, number>
  const ms = (us: number | undefined) => Math.round((us ?? 0) / 10) / 100
  return {
    requests_per_s: Math.round(((r.requests ?? 0) / (r.duration_us ?? 1)) * 1e6),
    p50_ms: ms(r.p50),
    p99_ms: ms(r.p99),
    p999_ms: ms(r.p999),
    errors: r.errors ?? 0,
    non_2xx: r.non_2xx ?? 0,
    total: r.requests ?? 0,
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

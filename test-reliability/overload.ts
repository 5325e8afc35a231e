/**
 * Load at a fixed rate against a real server: the mixed traffic of the issue (overload), the
 * same traffic for a long time while RSS is sampled (soak), and a login flood beside steady
 * GET traffic (the flood must not starve it).
 */
import {
  freePort,
  type LoadReport,
  mixedTraffic,
  type Outcome,
  openLoop,
  type RequestSpec,
  reportOf,
  round2,
  type ServerProcess,
  seedWorld,
  sleep,
  startServer,
  summarize,
  tempDir,
  type World,
} from './lib'

/** The server of these runs: production settings, request logging on (to /dev/null), proxy headers trusted for seeding. */
async function loadServer(env: Record<string, string> = {}) {
  const dir = tempDir('load')
  const server = await startServer({
    port: freePort(),
    databaseUrl: `file:${dir.path}/load.db`,
    env: { LOG_LEVEL: 'info', TRUST_PROXY: '1', ACCESS_TOKEN_TTL: '3h', ...env },
  })
  return { server, dir }
}

/** Runs `fn` on a seeded server, then stops it; a server that does not exit 0 fails the run. */
async function withWorld<T>(env: Record<string, string>, fn: (s: ServerProcess, w: World) => Promise<T>): Promise<T> {
  const { server, dir } = await loadServer(env)
  let result: T
  try {
    const world = await seedWorld(server.base, { users: 50, postsPerUser: 20, followsPerUser: 15 })
    result = await fn(server, world)
  } catch (error) {
    await server.kill()
    dir.remove()
    throw error
  }
  const code = await server.stop()
  dir.remove()
  if (code !== 0) throw new Error(`server exited with ${code}`)
  return result
}

export interface OverloadResult {
  rate: number
  seconds: number
  sent: number
  errors: number
  p50_ms: number
  p99_ms: number
  p999_ms: number
  max_ms: number
  by_status: Record<string, number>
  by_error: Record<string, number>
  by_label: LoadReport['by_label']
  pass: boolean
}

/** `seconds` of mixed traffic at `rate` requests per second: pass with zero errors. */
export async function overload(o: { rate: number; seconds: number }): Promise<OverloadResult> {
  return withWorld({}, async (server, world) => {
    // A short warm-up, not counted: the first requests compile the routes' validators.
    await openLoop({ base: server.base, rate: o.rate, seconds: 2, next: mixedTraffic(world, 7) })
    const { report } = await openLoop({
      base: server.base,
      rate: o.rate,
      seconds: o.seconds,
      next: mixedTraffic(world, 1),
    })
    return {
      rate: o.rate,
      seconds: o.seconds,
      sent: report.sent,
      errors: report.errors,
      ...report.latency,
      by_status: report.by_status,
      by_error: report.by_error,
      by_label: report.by_label,
      pass: report.errors === 0,
    }
  })
}

export interface SoakResult {
  rate: number
  seconds: number
  sent: number
  errors: number
  p99_ms: number
  p999_ms: number
  rss_start_mib: number
  rss_end_mib: number
  rss_max_mib: number
  drift_pct: number
  samples_mib: number[]
  pass: boolean
}

/**
 * Mixed traffic for `seconds`, RSS sampled every `sampleSeconds`. Drift compares the median of
 * the last fifth of the run with the median of the fifth right after the warm-up: a leak grows
 * steadily; the garbage collector's sawtooth does not.
 */
export async function soak(o: { rate: number; seconds: number; warmupSeconds: number; sampleSeconds: number }) {
  return withWorld({}, async (server, world): Promise<SoakResult> => {
    await openLoop({ base: server.base, rate: o.rate, seconds: o.warmupSeconds, next: mixedTraffic(world, 11) })
    const samples: number[] = []
    let done = false
    const sampler = (async () => {
      while (!done) {
        samples.push(server.rss())
        await sleep(o.sampleSeconds * 1000)
      }
    })()
    const { report } = await openLoop({
      base: server.base,
      rate: o.rate,
      seconds: o.seconds,
      next: mixedTraffic(world, 3),
    })
    done = true
    await sampler
    const fifth = Math.max(1, Math.floor(samples.length / 5))
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const start = median(samples.slice(0, fifth))
    const end = median(samples.slice(-fifth))
    const mib = (b: number) => round2(b / 1048576)
    const drift = start > 0 ? ((end - start) / start) * 100 : 0
    return {
      rate: o.rate,
      seconds: o.seconds,
      sent: report.sent,
      errors: report.errors,
      p99_ms: report.latency.p99_ms,
      p999_ms: report.latency.p999_ms,
      rss_start_mib: mib(start),
      rss_end_mib: mib(end),
      rss_max_mib: mib(Math.max(...samples)),
      drift_pct: round2(drift),
      samples_mib: samples.map(mib),
      pass: report.errors === 0 && drift < 10,
    }
  })
}

export interface FloodResult {
  get_rate: number
  login_rate: number
  windows: number
  window_seconds: number
  password_max_concurrent: string
  idle: { requests: number; p50_ms: number; p99_ms: number; errors: number }
  during_flood: { requests: number; p50_ms: number; p99_ms: number; errors: number }
  p99_ratio: number
  logins: {
    sent: number
    by_status: Record<string, number>
    by_error: Record<string, number>
    served_p99_ms: number
    shed_p99_ms: number
  }
  pass: boolean
}

/**
 * Steady GET traffic, measured in windows that alternate between idle and a credential-stuffing
 * flood (every attempt from a new address, for a new account name, so no rate limit shields the
 * hasher) asking for `loginRate` password checks per second, far beyond what the hasher can do.
 * Alternating windows keep other load on the machine from favouring one side. Pass: GET p99 at
 * most 2x idle (with a 2 ms floor: below it, timer noise decides), the excess logins answered
 * 429/503 quickly, nothing else failing.
 */
export async function loginFlood(o: {
  getRate: number
  loginRate: number
  windows: number
  windowSeconds: number
  env?: Record<string, string>
}) {
  return withWorld(o.env ?? {}, async (server, world): Promise<FloodResult> => {
    const gets = (i: number): RequestSpec => {
      const u = world.users[i % world.users.length] as World['users'][number]
      return i % 2 === 0
        ? { label: 'timeline', method: 'GET', path: '/api/v1/timeline?limit=20', token: u.token }
        : { label: 'read', method: 'GET', path: `/api/v1/posts/${world.postIds[(i * 31) % world.postIds.length]}` }
    }
    let attempt = 0
    const loginSpec = (): RequestSpec => {
      const i = ++attempt
      return {
        label: 'login',
        method: 'POST',
        path: '/api/v1/auth/token',
        body: { grant_type: 'password', username: `stuffed_${i}`, password: `guess number ${i}` },
        headers: { 'fly-client-ip': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        ok: (s) => s === 401 || s === 429 || s === 503,
      }
    }
    // One sign-in first, so the dummy hash for unknown accounts exists before anything is timed.
    await fetch(`${server.base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'fly-client-ip': '10.200.0.1' },
      body: JSON.stringify({ grant_type: 'password', username: 'warmup', password: 'warm up password' }),
    })
    await openLoop({ base: server.base, rate: o.getRate, seconds: 2, next: gets })
    const idle: Outcome[] = []
    const busy: Outcome[] = []
    const logins: Outcome[] = []
    for (let w = 0; w < o.windows; w++) {
      idle.push(
        ...(await openLoop({ base: server.base, rate: o.getRate, seconds: o.windowSeconds, next: gets })).outcomes,
      )
      const [b, f] = await Promise.all([
        openLoop({ base: server.base, rate: o.getRate, seconds: o.windowSeconds, next: gets }),
        openLoop({
          base: server.base,
          rate: o.loginRate,
          seconds: o.windowSeconds,
          next: loginSpec,
          timeoutMs: 30_000,
        }),
      ])
      busy.push(...b.outcomes)
      logins.push(...f.outcomes)
      // Let the queue of sign-ins drain before the next idle window.
      while ((await fetch(`${server.base}/health`)).status !== 200) await sleep(50)
      await sleep(3000)
    }
    const seconds = o.windows * o.windowSeconds
    const idleReport = reportOf(idle, o.getRate, seconds)
    const busyReport = reportOf(busy, o.getRate, seconds)
    const loginReport = reportOf(logins, o.loginRate, seconds)
    const served = logins.filter((x) => x.status === 401).map((x) => x.latency)
    const shed = logins.filter((x) => x.status === 429 || x.status === 503).map((x) => x.latency)
    const ratio = busyReport.latency.p99_ms / Math.max(idleReport.latency.p99_ms, 2)
    const shedP99 = summarize(shed).p99_ms
    const side = (r: LoadReport) => ({
      requests: r.sent,
      p50_ms: r.latency.p50_ms,
      p99_ms: r.latency.p99_ms,
      errors: r.errors,
    })
    return {
      get_rate: o.getRate,
      login_rate: o.loginRate,
      windows: o.windows,
      window_seconds: o.windowSeconds,
      password_max_concurrent: o.env?.PASSWORD_MAX_CONCURRENT ?? 'default (cores - 1)',
      idle: side(idleReport),
      during_flood: side(busyReport),
      p99_ratio: round2(ratio),
      logins: {
        sent: loginReport.sent,
        by_status: loginReport.by_status,
        by_error: loginReport.by_error,
        served_p99_ms: summarize(served).p99_ms,
        shed_p99_ms: shedP99,
      },
      pass:
        idleReport.errors === 0 &&
        busyReport.errors === 0 &&
        loginReport.errors === 0 &&
        ratio <= 2 &&
        shed.length > 0 &&
        shedP99 < 250,
    }
  })
}

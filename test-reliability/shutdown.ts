/**
 * Graceful shutdown under load: mixed traffic at a fixed rate (plus sign-ups, slow enough at
 * production hashing cost to be mid-flight), SIGTERM in the middle of it. Every request must be
 * answered normally, or refused at connect time once the listener has closed (ECONNREFUSED:
 * nothing reached the server, any client may retry). The process must exit 0.
 *
 * One race no server can close alone: a request written onto a kept-alive connection in the
 * instant the server closes that idle connection (or into the accept backlog as the listener
 * closes) is reset, not refused. Such a reset is counted apart — after the exit, the database
 * shows whether the request had any effect: none means it never began, so a retry is safe.
 * A reset of a request that did take effect (cut off mid-flight) fails the run, as does any
 * timeout, any unexpected status or a non-zero exit.
 */
import { createClient } from '@libsql/client'
import { freePort, mixedTraffic, type Outcome, openLoop, round2, seedWorld, sleep, startServer, tempDir } from './lib'

export interface ShutdownResult {
  rate: number
  sent: number
  answered: number
  /** Sent before SIGTERM, answered after it: the requests the drain let finish. */
  drained: number
  refused: number
  reset_never_processed: number
  failed: number
  failures: Record<string, number>
  exit_code: number | null
  exit_ms: number
  pass: boolean
}

export async function shutdownUnderLoad(o: { rate: number; beforeSeconds: number; afterSeconds: number }) {
  const dir = tempDir('shutdown')
  const dbPath = `${dir.path}/shutdown.db`
  const server = await startServer({
    port: freePort(),
    databaseUrl: `file:${dbPath}`,
    env: { LOG_LEVEL: 'info', TRUST_PROXY: '1' },
  })
  let exitCode: number | null = null
  try {
    const world = await seedWorld(server.base, { users: 30, postsPerUser: 10, followsPerUser: 10, prefix: 'stop' })
    const t0 = performance.now()
    const seconds = o.beforeSeconds + o.afterSeconds
    const traffic = mixedTraffic(world, 5)
    const load = openLoop({ base: server.base, start: t0, rate: o.rate, seconds, next: traffic, timeoutMs: 20_000 })
    // Sign-ups at production hashing cost (tens of ms each), so some are mid-flight at SIGTERM.
    const signups = openLoop({
      base: server.base,
      start: t0,
      rate: 10,
      seconds,
      timeoutMs: 20_000,
      next: (i) => ({
        label: 'register',
        method: 'POST',
        path: '/api/v1/auth/register',
        body: { username: `late_${i}`, email: `late_${i}@example.com`, password: 'password123' },
        headers: { 'fly-client-ip': `10.77.${i >> 8}.${i & 255}` },
      }),
    })
    await sleep(o.beforeSeconds * 1000 + Math.random() * 100)
    const sigtermAt = performance.now() - t0
    server.proc.kill('SIGTERM')
    exitCode = await server.proc.exited
    const exitedAt = performance.now() - t0
    const outcomes = [...(await load).outcomes, ...(await signups).outcomes]

    // What reached the database, to tell a reset that never began from one cut off mid-flight.
    const db = createClient({ url: `file:${dbPath}` })
    const users = new Set((await db.execute('SELECT username FROM users')).rows.map((r) => String(r.username)))
    const texts = new Set((await db.execute('SELECT text FROM posts')).rows.map((r) => String(r.text)))
    db.close()
    const tookEffect = (x: Outcome) => {
      const body = x.body as { username?: string; text?: string } | undefined
      if (x.label === 'register') return users.has(body?.username ?? '')
      if (x.label === 'post') return texts.has(body?.text ?? '')
      // Reads change nothing; likes and follows are idempotent PUTs a client may simply repeat.
      return false
    }
    const resets = outcomes.filter((x) => x.error === 'reset')
    const safeResets = resets.filter((x) => !tookEffect(x))
    const failures = outcomes.filter(
      (x) =>
        (x.status !== undefined && !x.ok) ||
        (x.error !== undefined && x.error !== 'refused' && !(x.error === 'reset' && !tookEffect(x))),
    )
    if (process.env.SHUTDOWN_DEBUG)
      for (const f of [...failures, ...safeResets]) console.log({ ...f, sent: round2(f.sent - sigtermAt) })
    const kinds: Record<string, number> = {}
    for (const f of failures) {
      const k = f.error ?? `status ${f.status}`
      kinds[k] = (kinds[k] ?? 0) + 1
    }
    const result: ShutdownResult = {
      rate: o.rate,
      sent: outcomes.length,
      answered: outcomes.filter((x) => x.status !== undefined).length,
      drained: outcomes.filter((x) => x.status !== undefined && x.sent < sigtermAt && x.due + x.latency > sigtermAt)
        .length,
      refused: outcomes.filter((x) => x.error === 'refused').length,
      reset_never_processed: safeResets.length,
      failed: failures.length,
      failures: kinds,
      exit_code: exitCode,
      exit_ms: round2(exitedAt - sigtermAt),
      pass: failures.length === 0 && exitCode === 0,
    }
    return result
  } finally {
    if (exitCode === null) await server.kill()
    dir.remove()
  }
}

/**
 * `npm run test:reliability [-- --short] [-- --only crash,soak]`: the long reliability runs,
 * each bounded in time, on loopback only, stopping every process it starts. Prints a summary
 * and writes every figure to test-reliability/results/latest.json. Exit status 1 if any fails.
 *
 *   --short   the CI variant (a couple of minutes): fewer rounds, shorter loads, fixed fuzz seed
 *   --only    a comma-separated subset of: fuzz, crash, crash-fault, contention, overload,
 *             flood, soak, shutdown
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { contention } from './contention'
import { crash } from './crash'
import { bun, root } from './lib'
import { loginFlood, overload, soak } from './overload'
import { shutdownUnderLoad } from './shutdown'

const args = process.argv.slice(2)
const short = args.includes('--short')
const onlyArg = args.find((a) => a.startsWith('--only'))
const only = onlyArg
  ? new Set((onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1])?.split(',') ?? [])
  : undefined

/** What each scenario does in each variant. */
const plan = {
  fuzz: { runsPerOperation: short ? 30 : 250 },
  crash: { rounds: short ? 4 : 20 },
  crashFault: { rounds: 2 },
  contention: short
    ? { writers: 2, usersPerGroup: 20, postsPerUser: 5, toggles: 3 }
    : { writers: 4, usersPerGroup: 50, postsPerUser: 10, toggles: 10 },
  overload: { rate: 400, seconds: short ? 15 : 60 },
  flood: short
    ? { getRate: 100, loginRate: 150, windows: 2, windowSeconds: 5 }
    : { getRate: 100, loginRate: 150, windows: 6, windowSeconds: 10 },
  soak: short
    ? { rate: 200, seconds: 30, warmupSeconds: 5, sampleSeconds: 1 }
    : { rate: 200, seconds: 600, warmupSeconds: 60, sampleSeconds: 5 },
  shutdown: { rate: 300, beforeSeconds: 3, afterSeconds: 2 },
}

interface Outcome {
  pass: boolean
  seconds: number
  result?: unknown
  error?: string
}
const results: Record<string, Outcome> = {}
const summary: string[] = []

async function scenario(name: string, fn: () => Promise<{ pass: boolean }>, line: (r: never) => string) {
  if (only && !only.has(name)) return
  process.stdout.write(`\n== ${name}\n`)
  const started = performance.now()
  try {
    const result = await fn()
    const seconds = Math.round((performance.now() - started) / 100) / 10
    results[name] = { pass: result.pass, seconds, result }
    const text = `${result.pass ? 'PASS' : 'FAIL'} ${name.padEnd(12)} ${line(result as never)} (${seconds} s)`
    summary.push(text)
    process.stdout.write(`${JSON.stringify(result)}\n${text}\n`)
  } catch (error) {
    const seconds = Math.round((performance.now() - started) / 100) / 10
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    results[name] = { pass: false, seconds, error: message }
    summary.push(`FAIL ${name.padEnd(12)} ${message.split('\n')[0]} (${seconds} s)`)
    process.stdout.write(`${message}\n`)
  }
}

/** The fuzzer of the default suite, with many more runs: its own process, its own figures. */
async function fuzz() {
  const seed = process.env.FUZZ_SEED ?? (short ? '' : 'random')
  const proc = Bun.spawn([bun, 'test', 'test/fuzz.test.ts'], {
    cwd: root,
    env: { ...process.env, FUZZ_RUNS: String(plan.fuzz.runsPerOperation), FUZZ_SEED: seed },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  const code = await proc.exited
  const line = /fuzz: (.*)/.exec(`${out}\n${err}`)?.[1] ?? ''
  const figures = Object.fromEntries(
    line
      .split(' ')
      .map((kv) => kv.split('='))
      .filter((kv) => kv.length === 2),
  ) as Record<string, string>
  if (code !== 0) process.stdout.write(err.split('\n').slice(-60).join('\n'))
  return {
    seed: Number(figures.seed),
    runs_per_operation: Number(figures.runs_per_operation),
    operations: Number(figures.operations),
    requests: Number(figures.requests),
    status_5xx: Number(figures.status_5xx),
    schema_mismatches: Number(figures.schema_mismatches),
    pass: code === 0 && Number(figures.status_5xx) === 0,
  }
}

const startedAt = new Date()
const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100)
const t0 = performance.now()

await scenario(
  'fuzz',
  fuzz,
  (r: Awaited<ReturnType<typeof fuzz>>) => `${r.requests} requests (seed ${r.seed}), ${r.status_5xx} 5xx`,
)
await scenario(
  'crash',
  () => crash({ rounds: plan.crash.rounds, seed: 9 }),
  (r: Awaited<ReturnType<typeof crash>>) =>
    `${r.rounds} SIGKILL rounds, ${r.acknowledged.total} acknowledged writes, ${r.lost} lost, integrity ${r.integrity.length === 0 ? 'ok' : 'BROKEN'}, ready after restart ≤ ${r.restart_ready_ms.max} ms`,
)
await scenario(
  'crash-fault',
  async () => {
    // The harness against a server that acknowledges before its writes are durable: it must see losses.
    const r = await crash({
      rounds: plan.crashFault.rounds,
      script: 'test-reliability/fixtures/write-behind-server.ts',
      seed: 3,
    })
    return { ...r, pass: r.lost > 0 }
  },
  (r: Awaited<ReturnType<typeof crash>>) =>
    `write-behind server caught: ${r.lost} of ${r.acknowledged.total} acknowledged writes lost`,
)
await scenario(
  'contention',
  () => contention(plan.contention),
  (r: Awaited<ReturnType<typeof contention>>) =>
    `${r.processes} processes, ${r.operations} writes, ${r.writer_errors.length} SQLITE_BUSY/errors, ${r.http_5xx} 5xx, counts ${Object.values(r.counts).every((c) => c.expected === c.actual && c.actual === c.rows) ? 'exact' : 'WRONG'}`,
)
await scenario(
  'overload',
  () => overload(plan.overload),
  (r: Awaited<ReturnType<typeof overload>>) =>
    `${r.rate} req/s for ${r.seconds} s: ${r.sent} requests, ${r.errors} errors, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms`,
)
await scenario(
  'flood',
  async () => {
    const r = await loginFlood(plan.flood)
    // On a shared CI runner the ratio is too noisy to gate on in a 10 s sample: reported, not gated.
    return short
      ? { ...r, pass_ratio: r.pass, pass: r.idle.errors + r.during_flood.errors === 0 && r.logins.shed_p99_ms < 250 }
      : r
  },
  (r: Awaited<ReturnType<typeof loginFlood>>) =>
    `GET p99 ${r.idle.p99_ms} ms idle → ${r.during_flood.p99_ms} ms under ${r.login_rate} logins/s (${r.p99_ratio}x); ${JSON.stringify(r.logins.by_status)}, shed p99 ${r.logins.shed_p99_ms} ms`,
)
await scenario(
  'soak',
  () => soak(plan.soak),
  (r: Awaited<ReturnType<typeof soak>>) =>
    `${r.seconds} s at ${r.rate} req/s: ${r.errors} errors, RSS ${r.rss_start_mib} → ${r.rss_end_mib} MiB (drift ${r.drift_pct}%), p99 ${r.p99_ms} ms`,
)
await scenario(
  'shutdown',
  () => shutdownUnderLoad(plan.shutdown),
  (r: Awaited<ReturnType<typeof shutdownUnderLoad>>) =>
    `SIGTERM under ${r.rate} req/s: ${r.answered} answered, ${r.drained} drained, ${r.refused} refused cleanly, ${r.reset_never_processed} reset before processing, ${r.failed} failed, exit ${r.exit_code} in ${r.exit_ms} ms`,
)

const report = {
  variant: short ? 'short' : 'full',
  command: `npm run test:reliability${short ? ' -- --short' : ''}${onlyArg ? ` -- ${args.slice(args.indexOf(onlyArg)).join(' ')}` : ''}`,
  started_at: startedAt.toISOString(),
  wall_seconds: Math.round((performance.now() - t0) / 1000),
  machine: {
    cpus: availableParallelism(),
    bun: Bun.version,
    load_average_before: loadBefore,
    load_average_after: loadavg().map((x) => Math.round(x * 100) / 100),
  },
  pass: Object.values(results).every((r) => r.pass),
  plan,
  results,
}
mkdirSync(join(import.meta.dir, 'results'), { recursive: true })
writeFileSync(join(import.meta.dir, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`)
process.stdout.write(`\n== summary (${report.variant}, ${report.wall_seconds} s)\n${summary.join('\n')}\n`)
process.exit(report.pass ? 0 : 1)

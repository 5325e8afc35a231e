/**
 * Load benchmarks of Pamps against ceilings measured in the same run.
 *
 *   npm run bench -- --scale small            (~1k users / 20k posts; a few minutes)
 *   npm run bench -- --scale large            (100k users, 1M posts, 2M follows, 2M likes)
 *   options: --seconds N (per scenario, default 10), --connections N (default 32),
 *            --warmup N (unmeasured seconds before each measurement: large 3, small 1),
 *            --db FILE (reuse a seeded database instead of seeding)
 *   environment: DATABASE_FILE_DRIVER=libsql measures the @libsql/client file driver;
 *            BENCH_GENERATOR=autocannon uses autocannon even when wrk is installed
 *
 * Writes bench/results/<date>-<scale>.json and .md, and prints the Markdown table.
 */

import { Database } from 'bun:sqlite'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, generator, json, type LoadOptions, type LoadResult, load, rssOf, startServer } from './lib'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const scale = arg('scale', 'small') as 'small' | 'large'
const seconds = Number(arg('seconds', scale === 'large' ? '10' : '5'))
const connections = Number(arg('connections', '32'))
const warmup = Number(arg('warmup', scale === 'large' ? '3' : '1'))
const given = process.argv.includes('--db') ? arg('db', '') : undefined

const scales = {
  small: { users: 1000, posts: 20_000, follows: 20_000, likes: 20_000, heavy: 200 },
  large: { users: 100_000, posts: 1_000_000, follows: 2_000_000, likes: 2_000_000, heavy: 1000 },
}
const PASSWORD = 'bench password'

const dir = mkdtempSync(join(tmpdir(), 'pamps-bench-run-'))
const log = (message: string) => console.error(`[bench] ${message}`)

/** `pamps seed` into a fresh database file; returns its path and the time it took. */
function seed(file: string, size: { users: number; posts: number; follows: number; likes: number; heavy: number }) {
  const started = performance.now()
  const proc = Bun.spawnSync(
    [
      process.execPath,
      'src/cli/index.ts',
      'seed',
      '--users',
      String(size.users),
      '--posts',
      String(size.posts),
      '--follows',
      String(size.follows),
      '--likes',
      String(size.likes),
      '--heavy-follows',
      String(size.heavy),
      '--password',
      PASSWORD,
      '--random-seed',
      '42',
    ],
    {
      env: { ...process.env, DATABASE_URL: `file:${file}`, JWT_SECRET: 'x'.repeat(40), NODE_ENV: 'development' },
      stdout: 'inherit',
      stderr: 'inherit',
    },
  )
  if (proc.exitCode !== 0) throw new Error(`seed failed with ${proc.exitCode}`)
  const took = (performance.now() - started) / 1000
  // The seed leaves up to a GiB of dirty pages that the kernel would write back during the
  // first measurements, on the same two cores: written out now, before anything is measured.
  Bun.spawnSync(['sync'])
  return took
}

interface Row {
  scenario: string
  result: LoadResult
  rss_mib?: number
  /** The ceiling this scenario is a ratio of. */
  of?: string
  ratio?: { of: string; value: number }
}

async function ceiling(mode: 'hello' | 'feed' | 'insert', file: string, options: Omit<LoadOptions, 'url'>) {
  const port = freePort()
  const proc = Bun.spawn([process.execPath, 'bench/ceiling.ts', mode, String(port), file], {
    stdout: 'inherit',
    stderr: 'inherit',
  })
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: mode === 'insert' ? 'GET' : 'GET' })
      break
    } catch {
      await Bun.sleep(50)
    }
  }
  try {
    const result = await load({ url: `http://127.0.0.1:${port}/`, ...options })
    return { result, rss_mib: Math.round(rssOf(proc.pid) / 1048576) }
  } finally {
    proc.kill('SIGTERM')
    await proc.exited
  }
}

async function main() {
  mkdirSync('bench/results', { recursive: true })
  const size = scales[scale]
  let file = given
  let seedSeconds: number | undefined
  if (!file) {
    file = join(dir, `${scale}.db`)
    log(`seeding ${scale}: ${JSON.stringify(size)}`)
    seedSeconds = seed(file, size)
    log(`seeded in ${seedSeconds.toFixed(1)} s`)
  }
  if (!existsSync(file)) throw new Error(`no database at ${file}`)
  const base = { duration: seconds, connections, warmup }
  const driver = process.env.DATABASE_FILE_DRIVER ?? 'bun'
  log(`load generator: ${generator}; file driver: ${driver}`)
  const rows: Row[] = []

  // Ceilings, on a copy of the database so the insert ceiling's table does not touch it.
  log('ceiling (a): Bun.serve hello')
  const hello = await ceiling('hello', file, base)
  rows.push({ scenario: 'ceiling (a) Bun.serve fixed JSON', ...hello })
  log('ceiling (b): Bun.serve + bun:sqlite feed query')
  const feed = await ceiling('feed', file, base)
  rows.push({ scenario: 'ceiling (b) Bun.serve + bun:sqlite feed page', ...feed })
  const insertFile = join(dir, 'insert-ceiling.db')
  log('ceiling (c): Bun.serve + bun:sqlite single-row insert, synchronous=FULL')
  const insert = await ceiling('insert', insertFile, { ...base, method: 'POST' })
  rows.push({ scenario: 'ceiling (c) Bun.serve + bun:sqlite insert (FULL)', ...insert })

  // The scale curve's largest step reads this same data later, untouched by the write scenarios
  // below (their short posts at the top of every list would make its pages lighter).
  const untouched = join(dir, 'curve-untouched.db')
  copyFileSync(file, untouched)

  // Pamps itself, in production mode with production password hashing.
  let feedAgain: Awaited<ReturnType<typeof ceiling>> | undefined
  const server = await startServer({ DATABASE_URL: `file:${file}` })
  try {
    const db = new Database(file, { readonly: true })
    const heavy = db.query("select username from users where username = 'heavy'").get() as { username: string } | null
    const heavyName = heavy?.username ?? 'heavy'
    const postIds = (db.query('select id from posts order by random() limit 1000').all() as Array<{ id: number }>).map(
      (r) => r.id,
    )
    const usernames = (
      db.query('select username from users order by random() limit 1000').all() as Array<{ username: string }>
    ).map((r) => r.username)
    db.close()
    const token = (await json(server.base, '/api/v1/auth/token', {
      grant_type: 'password',
      username: heavyName,
      password: PASSWORD,
    })) as { access_token: string }
    const auth = { authorization: `Bearer ${token.access_token}` }
    let i = 0
    const pick = <T>(list: T[]) => list[i++ % list.length] as T

    const scenarios: Array<[string, LoadOptions, string?]> = [
      ['GET /api/v1/posts (anonymous, 20 posts)', { url: `${server.base}/api/v1/posts` }, 'b'],
      ['GET /api/v1/posts/:id', { url: server.base, paths: postIds.map((id) => `/api/v1/posts/${id}`) }, 'b'],
      ['GET /api/v1/timeline (heavy user)', { url: `${server.base}/api/v1/timeline`, headers: auth }, 'b'],
      ['GET /api/v1/users/:username', { url: server.base, paths: usernames.map((u) => `/api/v1/users/${u}`) }, 'b'],
      [
        'POST /api/v1/posts',
        {
          url: `${server.base}/api/v1/posts`,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'a benchmark post' }),
        },
        'c',
      ],
      [
        'PUT /api/v1/posts/:id/like',
        { url: server.base, method: 'PUT', headers: auth, paths: postIds.map((id) => `/api/v1/posts/${id}/like`) },
      ],
      [
        'POST /api/v1/auth/token (argon2id 19 MiB, t=2)',
        {
          url: `${server.base}/api/v1/auth/token`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'password', username: heavyName, password: PASSWORD }),
          connections: 8,
        },
      ],
    ]
    for (const [name, options, of] of scenarios) {
      if (feedAgain === undefined && (options.method ?? 'GET') !== 'GET') {
        // Ceiling (b) again before the first write: the writes put their short posts at the top
        // of the feed, which halves the ceiling's own work (8.3 kB of JSON a page instead of
        // 4.7 kB), so a measurement after them is not of the data the reads above were given.
        log('ceiling (b) again, after the reads')
        feedAgain = await ceiling('feed', file, base)
        rows.push({ scenario: 'ceiling (b) again, after the read scenarios', ...feedAgain })
      }
      log(name)
      const result = await load({ ...base, ...options })
      rows.push({ scenario: name, result, rss_mib: Math.round(server.rss() / 1048576), of })
    }

    // Mixed workload at a fixed rate: 70% timeline, 15% reads, 10% posts, 5% likes/follows.
    log('mixed workload')
    const mixRequests = [
      ...Array.from({ length: 14 }, () => ({ method: 'GET' as const, path: '/api/v1/timeline', headers: auth })),
      { method: 'GET' as const, setupRequest: (r: object) => ({ ...r, path: `/api/v1/posts/${pick(postIds)}` }) },
      { method: 'GET' as const, path: '/api/v1/posts' },
      { method: 'GET' as const, setupRequest: (r: object) => ({ ...r, path: `/api/v1/users/${pick(usernames)}` }) },
      {
        method: 'POST' as const,
        path: '/api/v1/posts',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'mixed workload post' }),
      },
      {
        method: 'POST' as const,
        path: '/api/v1/posts',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'mixed workload post' }),
      },
      {
        method: 'PUT' as const,
        headers: auth,
        setupRequest: (r: object) => ({ ...r, path: `/api/v1/posts/${pick(postIds)}/like` }),
      },
    ]
    const mixed = await load({ ...base, url: server.base, requests: mixRequests, overallRate: 2000 })
    rows.push({
      scenario: 'mixed 70/15/10/5 at 2000 req/s offered',
      result: mixed,
      rss_mib: Math.round(server.rss() / 1048576),
    })
  } finally {
    await server.stop()
  }

  // The ceilings again: the machine's speed drifts during a run, so ratios use the mean of the
  // measurements taken before and after the scenarios they are compared with ((b) was measured
  // again after the reads).
  if (!feedAgain) throw new Error('ceiling (b) was not measured after the reads')
  log('ceiling (c) again')
  const insertAgain = await ceiling('insert', insertFile, { ...base, method: 'POST' })
  rows.push({ scenario: 'ceiling (c) again, after the scenarios', ...insertAgain })
  const reference: Record<string, number> = {
    b: (feed.result.requests_per_s + feedAgain.result.requests_per_s) / 2,
    c: (insert.result.requests_per_s + insertAgain.result.requests_per_s) / 2,
  }
  for (const row of rows) {
    const of = row.of
    const value = of ? reference[of] : undefined
    if (of && value) row.ratio = { of, value: Math.round((row.result.requests_per_s / value) * 100) / 100 }
  }

  // Scale curve: the same two reads over databases of growing size (the largest is the one above).
  const curve: Array<{ posts: number; timeline: LoadResult; feed: LoadResult }> = []
  const steps = scale === 'large' ? [10_000, 100_000] : [2_000, 10_000]
  for (const posts of [...steps, size.posts]) {
    let stepFile = untouched
    if (posts !== size.posts) {
      stepFile = join(dir, `curve-${posts}.db`)
      const users = Math.max(100, posts / 10)
      seed(stepFile, { users, posts, follows: posts * 2, likes: posts * 2, heavy: Math.min(size.heavy, users - 1) })
    }
    log(`scale curve at ${posts} posts`)
    const server = await startServer({ DATABASE_URL: `file:${stepFile}` })
    try {
      const token = (await json(server.base, '/api/v1/auth/token', {
        grant_type: 'password',
        username: 'heavy',
        password: PASSWORD,
      })) as { access_token: string }
      const timeline = await load({
        ...base,
        url: `${server.base}/api/v1/timeline`,
        headers: { authorization: `Bearer ${token.access_token}` },
      })
      const feed = await load({ ...base, url: `${server.base}/api/v1/posts` })
      curve.push({ posts, timeline, feed })
    } finally {
      await server.stop()
    }
  }

  const date = new Date().toISOString().slice(0, 10)
  const report = {
    date,
    scale,
    size,
    seed_seconds: seedSeconds,
    seconds,
    warmup_seconds: warmup,
    connections,
    generator,
    driver,
    rows,
    curve,
  }
  const first = curve[0]
  const lastStep = curve[curve.length - 1]
  const table = [
    `Load generator: ${generator === 'wrk' ? 'wrk, 1 thread' : 'autocannon'} (the mixed workload always autocannon, for its fixed rate); ${seconds} s per scenario after ${warmup} s of unmeasured warm-up; file driver: ${driver}.`,
    '',
    markdown(rows),
    '',
    '| posts | timeline p50 ms | timeline p99 ms | timeline req/s | feed p50 ms | feed p99 ms | feed req/s |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...curve.map(
      (c) =>
        `| ${c.posts} | ${c.timeline.p50_ms} | ${c.timeline.p99_ms} | ${c.timeline.requests_per_s} | ${c.feed.p50_ms} | ${c.feed.p99_ms} | ${c.feed.requests_per_s} |`,
    ),
    '',
    first && lastStep
      ? `Timeline p50 at ${lastStep.posts} posts is ${(lastStep.timeline.p50_ms / Math.max(first.timeline.p50_ms, 0.01)).toFixed(2)} × its p50 at ${first.posts} posts (req/s ratio ${(first.timeline.requests_per_s / Math.max(lastStep.timeline.requests_per_s, 1)).toFixed(2)}).`
      : '',
  ].join('\n')
  const name = `${date}-${scale}${driver === 'bun' ? '' : `-${driver}`}`
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(`bench/results/${name}.md`, `${table}\n`)
  console.log(table)
  rmSync(untouched, { force: true })
  if (!given) rmSync(dir, { recursive: true, force: true })
}

function markdown(rows: Row[]): string {
  const head =
    '| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | RSS MiB | ratio |\n|---|---:|---:|---:|---:|---:|---:|---|'
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.result.requests_per_s} | ${r.result.p50_ms} | ${r.result.p99_ms} | ${r.result.errors} | ${r.result.non_2xx} | ${r.rss_mib ?? ''} | ${r.ratio ? `${r.ratio.value} × (${r.ratio.of})` : ''} |`,
  )
  return [head, ...lines].join('\n')
}

await main()

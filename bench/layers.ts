/**
 * Where a request's time goes, in-process and one request at a time: each layer of a feed page
 * and of the heavy user's timeline page, for both file drivers, next to the query of ceiling (b).
 * Load tests measure the whole; this says which layer to work on.
 *
 *   bun bench/layers.ts --db FILE     (a database seeded by `pamps seed`, e.g. by npm run bench)
 *
 * Prints µs per call (median of 5 rounds of 2,000 calls). Reads only: the file is not changed.
 */
import { Database as Sqlite } from 'bun:sqlite'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, createServices } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import { Metrics } from '../src/http/metrics'
import { createLogger } from '../src/logger'
import { CEILING_FEED_SQL } from './queries'

const given = process.argv[process.argv.indexOf('--db') + 1]
if (!process.argv.includes('--db') || !given) {
  console.error('usage: bun bench/layers.ts --db FILE')
  process.exit(2)
}
// A copy: the app opens its database read-write (and migrates it), which must not touch the original.
const dir = mkdtempSync(join(tmpdir(), 'pamps-layers-'))
const file = join(dir, 'layers.db')
copyFileSync(given, file)

async function perCall(fn: () => unknown): Promise<number> {
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const start = performance.now()
    for (let i = 0; i < 2000; i++) await fn()
    rounds.push(((performance.now() - start) / 2000) * 1000)
  }
  return rounds.sort((a, b) => a - b)[2] as number
}

const ceiling = new Sqlite(file, { readonly: true })
const ceilingPage = ceiling.prepare(CEILING_FEED_SQL)
const table: Array<[string, ...number[]]> = [
  ['ceiling (b): the query, rows as objects, Response.json', await perCall(() => Response.json(ceilingPage.all()))],
]

const drivers = ['bun', 'libsql'] as const
const results: Record<string, Record<string, number>> = {}
for (const driver of drivers) {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: `file:${file}`,
    DATABASE_FILE_DRIVER: driver,
    JWT_SECRET: 'layers-secret-layers-secret-layers-secret',
    LOG_LEVEL: 'warn',
    PASSWORD_MEMORY_COST: '1024',
    PASSWORD_TIME_COST: '1',
  })
  const logger = createLogger('warn')
  const statements: string[] = []
  const database = await openDatabase(config.database, { onQuery: (_kind, sql) => statements.push(sql) })
  const metrics = new Metrics()
  const services = createServices({ config, database, logger, metrics })
  const app = createApp({ config, database, logger, metrics, services })
  const heavy = (await database.client.execute("SELECT id FROM users WHERE username = 'heavy'")).rows[0]?.id
  if (heavy === undefined) throw new Error('no user "heavy": seed the database with --heavy-follows')
  // The seed's password (npm run bench seeds with this one); without it the timeline rows that need a session are skipped.
  const token = (await services.auth.login('heavy', 'bench password', null).catch(() => undefined))?.access_token

  statements.length = 0
  await services.posts.feed(false, { limit: 20 })
  const feedSql = statements.at(-1) as string
  await services.timeline.home(Number(heavy), { limit: 20 })
  const timelineSql = statements.at(-1) as string
  const raw = new Sqlite(file, { readonly: true })
  const feedRaw = raw.prepare(feedSql)
  const timelineRaw = raw.prepare(timelineSql)
  const timelineArgs = Array.from(timelineSql.matchAll(/\?/g), () => Number(heavy))

  const get = (path: string, auth?: string) => () =>
    app.handle(new Request(`http://127.0.0.1${path}`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {}))
  results[driver] = {
    'feed: its SQL alone (bun:sqlite, prepared)': await perCall(() => feedRaw.values()),
    'feed: PostService.feed (driver, rows)': await perCall(() => services.posts.feed(false, { limit: 20 })),
    'feed: the whole request (app.handle)': await perCall(async () => (await get('/api/v1/posts')()).text()),
    'timeline: its SQL alone (bun:sqlite, prepared)': await perCall(() => timelineRaw.values(...timelineArgs)),
    'timeline: TimelineService.home': await perCall(() => services.timeline.home(Number(heavy), { limit: 20 })),
    ...(token
      ? {
          'session check of an authenticated request': await perCall(() => services.auth.resolveViewer(token)),
          'timeline: the whole request (app.handle)': await perCall(async () =>
            (await get('/api/v1/timeline', token)()).text(),
          ),
        }
      : {}),
  }
  raw.close()
  database.close()
}
for (const name of Object.keys(results.bun ?? {})) table.push([name, ...drivers.map((d) => results[d]?.[name] ?? NaN)])

console.log('| layer | µs, bun:sqlite driver | µs, @libsql/client driver |\n|---|---:|---:|')
for (const [name, ...values] of table)
  console.log(`| ${name} | ${values.map((v) => (Number.isNaN(v) ? '' : v.toFixed(1))).join(' | ')} |`)
ceiling.close()
rmSync(dir, { recursive: true, force: true })

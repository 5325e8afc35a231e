import { afterAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, createServices, type Services } from '../src/app'
import { type Config, loadConfig } from '../src/config'
import { type Database, openDatabase } from '../src/db/client'
import { runMigrations } from '../src/db/migrate'
import { Metrics } from '../src/http/metrics'
import { createLogger, type Logger } from '../src/logger'

export interface TestContext {
  app: ReturnType<typeof createApp>
  /**
   * The app's services; the mail and fan-out workers are not started unless a test starts them
   * (`services.fanout.drain()` writes the queued fan-outs at once).
   */
  services: Services
  /** The app's Prometheus registry. */
  metrics: Metrics
  database: Database
  config: Config
  logger: Logger
  dir: string
  /** Statements sent to libSQL since the last reset (an execute or a batch counts once). */
  queries: string[]
  call: (method: string, path: string, init?: CallInit) => Promise<CallResult>
}

export interface CallInit {
  body?: unknown
  /** Sent as is, with no content type unless `headers` gives one. */
  raw?: string
  token?: string
  headers?: Record<string, string>
}

export interface CallResult {
  status: number
  headers: Headers
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
  body: any
}

/** A fresh app on a fresh, migrated file database, removed after the test file. */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'pamps-test-'))
  const config = loadConfig({ ...process.env, DATABASE_URL: `file:${join(dir, 'test.db')}`, ...env })
  const logger = createLogger(config.logLevel)
  const queries: string[] = []
  const database = await openDatabase(config.database, { onQuery: (_kind, sql) => queries.push(sql) })
  await runMigrations(database)
  // Quick outbox timings, so mail tests see deliveries and retries within a second or two.
  const metrics = new Metrics()
  const services = createServices({
    config,
    database,
    logger,
    metrics,
    outbox: { pollMs: 50, baseBackoffMs: 100, maxBackoffMs: 1000, leaseMs: 2000 },
  })
  const app = createApp({ config, database, logger, services, metrics })
  afterAll(async () => {
    await services.mailer.stop()
    await services.fanout.stop()
    database.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const call = async (method: string, path: string, init: CallInit = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { ...init.headers }
    let body: string | undefined = init.raw
    if (init.body !== undefined) {
      body = JSON.stringify(init.body)
      headers['content-type'] ??= 'application/json'
    }
    if (init.token) headers.authorization = `Bearer ${init.token}`
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
    const text = await res.text()
    let parsed: unknown = null
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {}
    return { status: res.status, headers: res.headers, text, body: parsed }
  }
  return { app, services, metrics, database, config, logger, dir, queries, call }
}

/** Asserts the shape every error shares; returns the body for further checks. */
export function expectProblem(res: CallResult, status: number, code: string) {
  const ok =
    res.status === status &&
    (res.headers.get('content-type') ?? '').startsWith('application/problem+json') &&
    res.body?.code === code &&
    res.body?.status === status &&
    res.body?.type === `/problems/${code}` &&
    typeof res.body?.title === 'string' &&
    typeof res.body?.detail === 'string' &&
    typeof res.body?.request_id === 'string'
  if (!ok) throw new Error(`expected ${status} ${code} problem+json, got ${res.status}: ${res.text}`)
  return res.body
}

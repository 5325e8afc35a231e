import { Elysia } from 'elysia'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Database, QueryObservation } from '../db/client'
import { HttpError } from './problem'

/**
 * Prometheus metrics in the text exposition format (version 0.0.4), which Fly.io scrapes,
 * kept by prom-client: request counts and latency by route pattern and status, database
 * round trips, the outbox backlog, and prom-client's process metrics (memory, CPU, start time).
 */

const httpBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const dbBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The application's metrics: one registry per app, so tests and several apps never mix. */
export class Metrics {
  readonly registry = new Registry()
  readonly httpRequests = new Counter({
    name: 'pamps_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })
  readonly httpDuration = new Histogram({
    name: 'pamps_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: httpBuckets,
    registers: [this.registry],
  })
  readonly dbDuration = new Histogram({
    name: 'pamps_db_query_duration_seconds',
    help: 'Database round trips (statement, batch, transaction start, replica sync) by kind, target and outcome',
    labelNames: ['kind', 'target', 'outcome'] as const,
    buckets: dbBuckets,
    registers: [this.registry],
  })
  readonly #backlogSources = new Map<string, () => number | Promise<number>>()
  readonly outboxBacklog = this.#backlog('pamps_outbox_backlog', 'Messages waiting in the mail outbox')
  readonly fanoutBacklog = this.#backlog(
    'pamps_timeline_fanout_backlog',
    'Timeline fan-outs waiting for the background worker (posts of accounts with many followers, follows of accounts with many posts)',
  )
  readonly databaseUp = new Gauge({
    name: 'pamps_database_connected',
    help: 'Whether the database is connected (an embedded replica: created and synced once), by mode',
    labelNames: ['mode'] as const,
    registers: [this.registry],
    collect: () => {
      const db = this.#database
      if (db) this.databaseUp.set({ mode: db.mode }, db.connected() ? 1 : 0)
    },
  })
  #database: Database | undefined

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }

  /** Reads the outbox backlog from `source` at every scrape. */
  setOutboxBacklogSource(source: () => number | Promise<number>) {
    this.#backlogSources.set('pamps_outbox_backlog', source)
  }

  /** Reads the timeline fan-out backlog from `source` at every scrape. */
  setFanoutBacklogSource(source: () => number | Promise<number>) {
    this.#backlogSources.set('pamps_timeline_fanout_backlog', source)
  }

  /** A gauge read at scrape time from the source set for it (absent until one is). */
  #backlog(name: string, help: string): Gauge {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: async () => {
        const source = this.#backlogSources.get(name)
        if (source) gauge.set(await source())
      },
    })
    return gauge
  }

  /** Times every round trip to `database` and reports whether it is connected. */
  watchDatabase(database: Database) {
    this.#database = database
    database.observe(this.observeQuery)
  }

  observeQuery = (o: QueryObservation) => {
    this.dbDuration.observe({ kind: o.kind, target: o.target, outcome: o.ok ? 'ok' : 'error' }, o.seconds)
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics()
  }
}

const started = new WeakMap<Request, number>()
const labels = new Map<string, string>()

/** A module's root is registered as `/posts/`: label it as clients call it. Patterns are few; at most 1,000 are kept. */
function routeLabel(route: string | undefined): string | undefined {
  if (route === undefined) return undefined
  let label = labels.get(route)
  if (label === undefined) {
    label = route.replace(/(.)\/+$/, '$1')
    if (labels.size < 1000) labels.set(route, label)
  }
  return label
}

/**
 * Times every request. Labels use the route pattern (`/api/v1/posts/:id`), never the raw
 * path, so the series stay few; unmatched paths share one `route="unmatched"` label.
 * Mount it first, so it sees every request, even one another hook rejects.
 */
export function metricsHooks(metrics: Metrics, database: Database) {
  metrics.watchDatabase(database)
  return new Elysia({ name: 'metrics-hooks' })
    .onRequest(({ request }) => {
      started.set(request, performance.now())
    })
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const start = started.get(ctx.request)
      if (start === undefined) return
      const value = (ctx as { responseValue?: unknown }).responseValue
      const status =
        value instanceof Response ? value.status : typeof ctx.set.status === 'number' ? ctx.set.status : 200
      const route = routeLabel((ctx as { route?: string }).route)
      const labels = { method: ctx.request.method, route: route || 'unmatched', status: String(status) }
      metrics.httpRequests.inc(labels)
      metrics.httpDuration.observe(labels, (performance.now() - start) / 1000)
    })
}

/**
 * `GET /metrics`. Requests that came through Fly's public proxy (it adds `Fly-Client-IP`)
 * get the same 404 as an unknown route: Fly scrapes over its private network, where the
 * header is absent, so the numbers are not published to the internet.
 */
export function metricsRoute(metrics: Metrics) {
  return new Elysia({ name: 'metrics-route' }).get(
    '/metrics',
    async ({ request, set }) => {
      if (request.headers.has('fly-client-ip'))
        throw new HttpError(404, 'not_found', `No route matches ${request.method} /metrics`)
      set.headers['content-type'] = 'text/plain; version=0.0.4; charset=utf-8'
      return metrics.render()
    },
    { detail: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format 0.0.4)' } },
  )
}

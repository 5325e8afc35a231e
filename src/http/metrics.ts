import { Elysia } from 'elysia'
import type { Database, QueryObservation } from '../db/client'
import { HttpError } from './problem'

/**
 * Prometheus metrics in the text exposition format (version 0.0.4), which Fly.io scrapes.
 * A small hand-written registry: counters, gauges and histograms with labels are all this
 * API needs, and it keeps a client library's default collectors (which assume Node's
 * internals) out of a Bun process.
 */

type Labels = Record<string, string>

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const formatValue = (v: number) =>
  Number.isNaN(v)
    ? 'NaN'
    : v === Number.POSITIVE_INFINITY
      ? '+Inf'
      : v === Number.NEGATIVE_INFINITY
        ? '-Inf'
        : String(v)

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels)
  if (extra) pairs.push(extra)
  if (pairs.length === 0) return ''
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))

interface Metric {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  render(): string[]
}

export class Counter implements Metric {
  readonly type = 'counter'
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1) {
    const key = keyOf(labels)
    const entry = this.values.get(key)
    if (entry) entry.value += by
    else this.values.set(key, { labels, value: by })
  }

  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0
  }

  render() {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${formatValue(e.value)}`)
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge'
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(value: number, labels: Labels = {}) {
    this.values.set(keyOf(labels), { labels, value })
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(keyOf(labels))?.value
  }

  render() {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${formatValue(e.value)}`)
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram'
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}) {
    const key = keyOf(labels)
    let s = this.series.get(key)
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    for (let i = 0; i < this.buckets.length; i++)
      if (value <= (this.buckets[i] as number)) s.counts[i] = (s.counts[i] ?? 0) + 1
    s.sum += value
    s.count += 1
  }

  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.count ?? 0
  }

  render() {
    const lines: string[] = []
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket${labelText(s.labels, ['le', formatValue(le)])} ${s.counts[i]}`)
      })
      lines.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`)
      lines.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`)
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`)
    }
    return lines
  }
}

const httpBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const dbBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The application's metrics; one per app. */
export class Metrics {
  readonly httpRequests = new Counter(
    'pamps_http_requests_total',
    'HTTP requests answered, by method, route pattern and status',
  )
  readonly httpDuration = new Histogram(
    'pamps_http_request_duration_seconds',
    'Time from receiving a request to answering it, by method, route pattern and status',
    httpBuckets,
  )
  readonly dbDuration = new Histogram(
    'pamps_db_query_duration_seconds',
    'Database round trips (statement, batch, transaction start, replica sync) by kind, target and outcome',
    dbBuckets,
  )
  /** Mail waiting in the outbox; the mail feature sets it, or registers a source read at scrape time. */
  readonly outboxBacklog = new Gauge('pamps_outbox_backlog', 'Messages waiting in the mail outbox')
  readonly databaseUp = new Gauge(
    'pamps_database_connected',
    'Whether the database is connected (an embedded replica: created and synced once), by mode',
  )
  readonly processMemory = new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes')
  readonly processHeap = new Gauge('pamps_js_heap_used_bytes', 'JavaScript heap in use, in bytes')
  readonly processStart = new Gauge(
    'process_start_time_seconds',
    'Start time of the process since the Unix epoch, in seconds',
  )
  private readonly all: Metric[] = [
    this.httpRequests,
    this.httpDuration,
    this.dbDuration,
    this.outboxBacklog,
    this.databaseUp,
    this.processMemory,
    this.processHeap,
    this.processStart,
  ]
  private readonly collectors: Array<() => void | Promise<void>> = []

  constructor() {
    this.processStart.set(Math.round(Date.now() / 1000 - process.uptime()))
    this.collectors.push(() => {
      const memory = process.memoryUsage()
      this.processMemory.set(memory.rss)
      this.processHeap.set(memory.heapUsed)
    })
  }

  /** Runs `collect` before every scrape (to read a gauge such as the outbox backlog fresh). */
  onScrape(collect: () => void | Promise<void>) {
    this.collectors.push(collect)
  }

  /** Reads the outbox backlog from `source` at every scrape (the mail feature calls this once). */
  setOutboxBacklogSource(source: () => number | Promise<number>) {
    this.onScrape(async () => this.outboxBacklog.set(await source()))
  }

  observeQuery = (o: QueryObservation) => {
    this.dbDuration.observe(o.seconds, { kind: o.kind, target: o.target, outcome: o.ok ? 'ok' : 'error' })
  }

  /** The exposition text; a failing collector leaves its gauge at its last value. */
  async render(): Promise<string> {
    await Promise.all(
      this.collectors.map((c) =>
        Promise.resolve()
          .then(c)
          .catch(() => {}),
      ),
    )
    const out: string[] = []
    for (const m of this.all) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.render())
    }
    return `${out.join('\n')}\n`
  }
}

const started = new WeakMap<Request, number>()

/**
 * Times every request. Labels use the route pattern (`/api/v1/posts/:id`), never the raw
 * path, so the series stay few; unmatched paths share one `route="unmatched"` label.
 * Mount it first, so it sees every request, even one another hook rejects.
 */
export function metricsHooks(metrics: Metrics, database: Database) {
  database.observe(metrics.observeQuery)
  metrics.onScrape(() => metrics.databaseUp.set(database.connected() ? 1 : 0, { mode: database.mode }))
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
      // A module's root is registered as `/posts/`: label it as clients call it.
      const route = (ctx as { route?: string }).route?.replace(/(.)\/+$/, '$1')
      const labels = { method: ctx.request.method, route: route || 'unmatched', status: String(status) }
      metrics.httpRequests.inc(labels)
      metrics.httpDuration.observe((performance.now() - start) / 1000, labels)
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

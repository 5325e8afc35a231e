import { describe, expect, test } from 'bun:test'
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format'
import { Metrics } from '../src/http/metrics'
import { createUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()
const metrics = ctx.metrics

/** The exposition format's line grammar (version 0.0.4); the parser library is lenient. */
const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const labelPair = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const value = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)'
const sampleLine = new RegExp(`^${metricName}(?:\\{${labelPair}(?:,${labelPair})*\\})? ${value}$`)
const commentLine = new RegExp(
  `^# (?:HELP ${metricName} .*|TYPE ${metricName} (?:counter|gauge|histogram|summary|untyped))$`,
)

/**
 * A histogram's series read from the raw lines. parse-prometheus-text-format merges every
 * labelled series of a histogram into one, so it checks the syntax and the other types only.
 */
function histogram(text: string, name: string) {
  const series = new Map<
    string,
    { labels: Record<string, string>; buckets: [string, number][]; sum?: number; count?: number }
  >()
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_(bucket|sum|count)(?:\\{(.*)\\})? (\\S+)$`).exec(line)
    if (!m) continue
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\\\]|\\\\.)*)"/g)].map((p) => [p[1], p[2]]),
    )
    const le = labels.le
    delete labels.le
    const key = JSON.stringify(labels)
    const s: typeof series extends Map<string, infer V> ? V : never = series.get(key) ?? { labels, buckets: [] }
    series.set(key, s)
    if (m[1] === 'bucket') s.buckets.push([le as string, Number(m[3])])
    else s[m[1] as 'sum' | 'count'] = Number(m[3])
  }
  return [...series.values()]
}

function expectWellFormed(h: ReturnType<typeof histogram>[number]) {
  const counts = h.buckets.map(([, n]) => n)
  expect(counts).toEqual([...counts].sort((a, b) => a - b)) // cumulative
  expect(h.buckets.at(-1)).toEqual(['+Inf', h.count as number]) // ends at +Inf = count
  expect(h.sum).toBeGreaterThanOrEqual(0)
}

const isNumber = (v: string | undefined) => v !== undefined && (v === '+Inf' || Number.isFinite(Number(v)))

async function scrape(headers: Record<string, string> = {}) {
  // Requests are counted after their response has gone out, a tick after `handle` resolves.
  await Bun.sleep(10)
  const res = await ctx.call('GET', '/metrics', { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  // Blank lines are allowed and ignored by the format.
  for (const line of res.text.trimEnd().split('\n')) {
    if (!(line === '' || sampleLine.test(line) || commentLine.test(line)))
      throw new Error(`not an exposition line: ${line}`)
  }
  const families = parsePrometheusTextFormat(res.text)
  const byName = new Map<string, Family>(families.map((f) => [f.name, f]))
  expect(byName.size).toBe(families.length) // each family once
  return { text: res.text, byName }
}

describe('/metrics', () => {
  test('is Prometheus text that a parser reads back, with request counts and latency by route pattern and status', async () => {
    const alice = await createUser(ctx)
    await ctx.call('GET', `/api/v1/users/${alice.username}`)
    await ctx.call('GET', '/api/v1/users/nobody_here')
    await ctx.call('GET', '/no/such/route')
    const post = await ctx.call('POST', '/api/v1/posts', { token: alice.token, body: { text: 'hello metrics' } })
    expect(post.status).toBe(201)

    const { byName, text } = await scrape()
    const requests = byName.get('pamps_http_requests_total')
    expect(requests?.type).toBe('COUNTER')
    const count = (method: string, route: string, status: string) =>
      Number(
        requests?.metrics.find(
          (m) => m.labels?.method === method && m.labels?.route === route && m.labels?.status === status,
        )?.value ?? 0,
      )
    expect(count('POST', '/api/v1/auth/register', '201')).toBe(1)
    expect(count('POST', '/api/v1/posts', '201')).toBe(1)
    // The pattern, not the raw path: one series for every username.
    expect(count('GET', '/api/v1/users/:username', '200')).toBe(1)
    expect(count('GET', '/api/v1/users/:username', '404')).toBe(1)
    expect(count('GET', 'unmatched', '404')).toBe(1)
    expect(requests?.metrics.some((m) => m.labels?.route?.includes(alice.username))).toBe(false)
    for (const m of requests?.metrics ?? []) expect(isNumber(m.value)).toBe(true)

    expect(byName.get('pamps_http_request_duration_seconds')?.type).toBe('HISTOGRAM')
    const latency = histogram(text, 'pamps_http_request_duration_seconds')
    for (const h of latency) expectWellFormed(h)
    const posted = latency.find((h) => h.labels.route === '/api/v1/posts' && h.labels.status === '201')
    expect(posted?.labels).toEqual({ method: 'POST', route: '/api/v1/posts', status: '201' })
    expect(posted?.count).toBe(1)
    expect(posted?.sum).toBeGreaterThan(0)
    // One series per counter series: the same labels in both.
    expect(latency.map((h) => JSON.stringify(h.labels)).sort()).toEqual(
      (requests?.metrics ?? []).map((m) => JSON.stringify(m.labels)).sort(),
    )
  })

  test('times database round trips by kind, target and outcome', async () => {
    const { byName, text } = await scrape()
    expect(byName.get('pamps_db_query_duration_seconds')?.type).toBe('HISTOGRAM')
    const db = histogram(text, 'pamps_db_query_duration_seconds')
    for (const h of db) expectWellFormed(h)
    const ok = db.filter((h) => h.labels.target === 'file' && h.labels.outcome === 'ok')
    expect(ok.map((h) => h.labels.kind)).toEqual(expect.arrayContaining(['batch', 'execute']))
    for (const h of ok) expect(h.count).toBeGreaterThan(0)
    const connected = byName.get('pamps_database_connected')
    expect(connected?.metrics).toEqual([{ value: '1', labels: { mode: 'file' } }])
  })

  test('the outbox backlog is a gauge the mail feature feeds at scrape time', async () => {
    let backlog = 7
    metrics.setOutboxBacklogSource(() => backlog)
    expect((await scrape()).byName.get('pamps_outbox_backlog')?.metrics).toEqual([{ value: '7' }])
    backlog = 0
    const { byName } = await scrape()
    expect(byName.get('pamps_outbox_backlog')?.type).toBe('GAUGE')
    expect(byName.get('pamps_outbox_backlog')?.metrics).toEqual([{ value: '0' }])
    expect(Number(byName.get('process_resident_memory_bytes')?.metrics[0]?.value)).toBeGreaterThan(0)
  })

  test('the timeline fan-out backlog is a gauge of the jobs waiting', async () => {
    expect((await scrape()).byName.get('pamps_timeline_fanout_backlog')?.metrics).toEqual([{ value: '0' }])
    await ctx.database.client.execute(
      "INSERT INTO timeline_jobs (kind, follower_id, followee_id) VALUES ('unfollow', 1, 2), ('unfollow', 1, 3)",
    )
    const { byName } = await scrape()
    expect(byName.get('pamps_timeline_fanout_backlog')?.type).toBe('GAUGE')
    expect(byName.get('pamps_timeline_fanout_backlog')?.metrics).toEqual([{ value: '2' }])
    await ctx.database.client.execute('DELETE FROM timeline_jobs')
  })

  test('label values are escaped', async () => {
    const m = new Metrics()
    m.httpRequests.inc({ method: 'GET', route: 'a "quoted"\\path\nwith newline', status: '200' })
    const text = await m.render()
    const line = text.split('\n').find((l) => l.startsWith('pamps_http_requests_total{'))
    expect(line).toBe(
      'pamps_http_requests_total{method="GET",route="a \\"quoted\\"\\\\path\\nwith newline",status="200"} 1',
    )
    expect(sampleLine.test(line ?? '')).toBe(true)
    const parsed = parsePrometheusTextFormat(text).find((f) => f.name === 'pamps_http_requests_total')
    expect(parsed?.metrics[0]?.labels?.route).toBe('a "quoted"\\path\nwith newline')
  })

  test('through the public proxy (Fly-Client-IP set) it is an unknown route: 404 problem+json', async () => {
    const res = await ctx.call('GET', '/metrics', { headers: { 'fly-client-ip': '203.0.113.9' } })
    expectProblem(res, 404, 'not_found')
  })
})

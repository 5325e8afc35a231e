import { describe, expect, test } from 'bun:test'
import { createTestContext } from './helpers'

const ctx = await createTestContext()

describe('ops', () => {
  test('GET /health answers 200 with status ok', async () => {
    const res = await ctx.call('GET', '/health')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ok' })
  })

  test('GET /ready is 200 once every migration is applied', async () => {
    const res = await ctx.call('GET', '/ready')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ready')
  })

  test('GET /ready is 503 while a migration is pending', async () => {
    const other = await createTestContext()
    await other.database.client.execute(
      'DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)',
    )
    const res = await other.call('GET', '/ready')
    expect(res.status).toBe(503)
    expect(res.body.pending).toHaveLength(1)
  })

  test('GET /ready is 503 when the database does not answer', async () => {
    const other = await createTestContext()
    other.database.close()
    const res = await other.call('GET', '/ready')
    expect(res.status).toBe(503)
  })

  test('every response carries X-Request-Id, and a sane client id is echoed', async () => {
    const mine = await ctx.call('GET', '/health', { headers: { 'x-request-id': 'client-id-123' } })
    expect(mine.headers.get('x-request-id')).toBe('client-id-123')
    const insane = await ctx.call('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces\u0001' } })
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const missing = await ctx.call('GET', '/nope')
    expect(missing.headers.get('x-request-id')).toBe(missing.body.request_id)
  })

  test('API responses are nosniff and no-store', async () => {
    const res = await ctx.call('GET', '/api/v1/users')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })
})

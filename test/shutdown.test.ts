import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServerProcess } from './processes'

const dir = mkdtempSync(join(tmpdir(), 'pamps-shutdown-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The real server on its own database file. */
const startServer = (extra: Record<string, string> = {}) =>
  startServerProcess({
    DATABASE_URL: `file:${join(dir, 'server.db')}`,
    JWT_SECRET: 'shutdown-secret-shutdown-secret-shutdown',
    ...extra,
  })

describe('graceful shutdown', () => {
  test('SIGTERM while requests are in flight: they complete, new ones are refused, exit 0', async () => {
    // Expensive hashing makes registrations slow enough to still be running at SIGTERM.
    const { proc, base } = await startServer({
      PASSWORD_MEMORY_COST: '65536',
      PASSWORD_TIME_COST: '4',
      PASSWORD_MAX_CONCURRENT: '2',
    })
    expect((await fetch(`${base}/health`)).status).toBe(200)
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      fetch(`${base}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `drain_${i}`, email: `drain_${i}@example.com`, password: 'password123' }),
      }).then((r) => r.status),
    )
    await Bun.sleep(60)
    const started = Date.now()
    proc.kill('SIGTERM')
    const statuses = await Promise.all(inFlight)
    expect(statuses).toEqual(Array(6).fill(201))
    const exitCode = await proc.exited
    expect(exitCode).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    await expect(fetch(`${base}/health`)).rejects.toThrow()
  })
})

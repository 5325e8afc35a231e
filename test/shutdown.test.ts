import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'pamps-shutdown-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts the real server (`bun src/index.ts`) on a free port and waits for its first log line. */
async function startServer(extra: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, 'src/index.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: `file:${join(dir, 'server.db')}`,
      JWT_SECRET: 'shutdown-secret-shutdown-secret-shutdown',
      LOG_LEVEL: 'info',
      ...extra,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = proc.stdout.getReader()
  let buffered = ''
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += new TextDecoder().decode(value)
    const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffered)
    if (match) {
      reader.releaseLock()
      return { proc, base: `http://127.0.0.1:${match[1]}` }
    }
  }
  proc.kill()
  throw new Error(`server did not start: ${buffered}`)
}

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

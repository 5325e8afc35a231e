import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config'

const dir = mkdtempSync(join(tmpdir(), 'pamps-config-'))
const base = { DATABASE_URL: `file:${join(dir, 'db', 'pamps.db')}`, JWT_SECRET: 'x'.repeat(32) }

describe('configuration', () => {
  test('defaults', () => {
    const config = loadConfig({ DATABASE_URL: base.DATABASE_URL, JWT_SECRET: base.JWT_SECRET })
    expect(config.port).toBe(3000)
    expect(config.nodeEnv).toBe('development')
    expect(config.accessTokenTtl).toBe(900)
    expect(config.refreshTokenTtl).toBe(30 * 86400)
    expect(config.authRateLimit).toBe(10)
    expect(config.writeRateLimit).toBe(300)
    expect(config.bodyLimit).toBe(65536)
    expect(config.trustProxy).toBe(false)
    expect(config.database.synchronous).toBe('FULL')
    expect(config.mail.transport).toBe('console')
    expect(config.password).toMatchObject({ memoryCost: 19456, timeCost: 2 })
    expect(config.corsOrigins).toEqual([])
    // The data directory of a file database is created.
    expect(existsSync(join(dir, 'db'))).toBe(true)
  })

  test('DATABASE_URL defaults to file:./data/pamps.db', () => {
    const config = loadConfig({ JWT_SECRET: base.JWT_SECRET })
    expect(config.database.url).toBe('file:./data/pamps.db')
  })

  test('durations accept seconds and units', () => {
    const config = loadConfig({ ...base, ACCESS_TOKEN_TTL: '5m', REFRESH_TOKEN_TTL: '7d' })
    expect(config.accessTokenTtl).toBe(300)
    expect(config.refreshTokenTtl).toBe(7 * 86400)
  })

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'abc' }, /^PORT must be an integer from 0 to 65535/],
    [{ PORT: '70000' }, /^PORT must be/],
    [{ DATABASE_URL: 'postgres://x' }, /^DATABASE_URL must be a URL starting with file:/],
    [{ ACCESS_TOKEN_TTL: 'soon' }, /^ACCESS_TOKEN_TTL must be a duration/],
    [{ AUTH_RATE_LIMIT: '-1' }, /^AUTH_RATE_LIMIT must be an integer/],
    [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY must be true or false/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ NODE_ENV: 'staging' }, /^NODE_ENV must be one of/],
    [{ MAIL_TRANSPORT: 'smtp' }, /^SMTP_URL must be set when MAIL_TRANSPORT=smtp/],
    [{ DATABASE_SYNCHRONOUS: 'OFF' }, /^DATABASE_SYNCHRONOUS must be one of full, normal/],
    [{ JWT_SECRET: 'short' }, /^JWT_SECRET must be at least 32 bytes/],
    [{ CORS_ORIGINS: 'not a url' }, /^CORS_ORIGINS must be/],
    [
      { DATABASE_SYNC_URL: 'libsql://x.turso.io', DATABASE_URL: 'libsql://y.turso.io' },
      /^DATABASE_URL must be a file: URL/,
    ],
  ]
  for (const [env, message] of bad)
    test(`rejects ${JSON.stringify(env)} naming the variable`, () => {
      expect(() => loadConfig({ ...base, ...env })).toThrow(message)
      expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError)
    })

  test('production requires JWT_SECRET', () => {
    expect(() => loadConfig({ DATABASE_URL: base.DATABASE_URL, NODE_ENV: 'production' })).toThrow(
      /^JWT_SECRET must be set/,
    )
  })

  test('development without JWT_SECRET generates one and keeps it for the next start', () => {
    const devDir = mkdtempSync(join(tmpdir(), 'pamps-dev-'))
    const env = { DATABASE_URL: `file:${join(devDir, 'pamps.db')}` }
    const first = loadConfig(env)
    expect(first.jwt.generated).toBe(true)
    expect(first.jwt.secret.length).toBeGreaterThanOrEqual(32)
    expect(readFileSync(join(devDir, '.jwt-secret'), 'utf8').trim()).toBe(first.jwt.secret)
    expect(loadConfig(env).jwt.secret).toBe(first.jwt.secret)
  })
})

describe('the process', () => {
  test('NODE_ENV=production without JWT_SECRET exits non-zero with one clear line', () => {
    const proc = Bun.spawnSync([process.execPath, 'src/index.ts'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: base.DATABASE_URL, PORT: '0' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(proc.exitCode).not.toBe(0)
    const stderr = proc.stderr.toString().trim()
    expect(stderr.split('\n')).toHaveLength(1)
    expect(stderr).toContain('JWT_SECRET')
  })
})

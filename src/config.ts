import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** A bad environment variable: the message names it and what it expected. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export type NodeEnv = 'development' | 'production' | 'test'

export interface Config {
  nodeEnv: NodeEnv
  host: string
  port: number
  logLevel: LogLevel
  publicUrl: string
  database: {
    url: string
    authToken: string | undefined
    /** Primary to replicate from; set only for a Turso embedded replica. */
    syncUrl: string | undefined
    syncIntervalSeconds: number | undefined
    synchronous: 'FULL' | 'NORMAL'
    /** Which SQLite library serves a `file:` database: Bun's built-in one (with group commit) or libSQL's. */
    fileDriver: 'bun' | 'libsql'
    /** Directory of a `file:` database (holds the development JWT secret too). */
    dataDir: string | undefined
  }
  jwt: { secret: string; generated: boolean; issuer: string; audience: string }
  accessTokenTtl: number
  refreshTokenTtl: number
  password: { memoryCost: number; timeCost: number; maxConcurrent: number }
  authRateLimit: number
  writeRateLimit: number
  trustProxy: boolean
  corsOrigins: string[]
  bodyLimit: number
  shutdownTimeoutMs: number
  mail: {
    transport: 'console' | 'smtp'
    smtpUrl: string | undefined
    from: string
    verifyTtl: number
    resetTtl: number
  }
}

type Env = Record<string, string | undefined>

const fail = (name: string, expected: string, value?: string): never => {
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value.slice(0, 40))})`
  throw new ConfigError(`${name} must be ${expected}${got}`)
}

function read(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    return fail(name, `an integer from ${min} to ${max}`, raw)
  return Number(raw)
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const v = raw.toLowerCase() as T
  return values.includes(v) ? v : fail(name, `one of ${values.join(', ')}`, raw)
}

function bool(env: Env, name: string): boolean {
  const raw = read(env, name)?.toLowerCase()
  if (raw === undefined || ['0', 'false', 'no', 'off'].includes(raw)) return false
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  return fail(name, 'true or false', raw)
}

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** A duration in seconds: `900`, `900s`, `15m`, `12h`, `30d`. */
function duration(env: Env, name: string, fallback: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const m = /^(\d+)([smhd]?)$/.exec(raw)
  const seconds = m ? Number(m[1]) * (units[m[2] || 's'] ?? 1) : 0
  if (seconds < 1 || seconds > 366 * 86400)
    return fail(name, 'a duration such as 900, 15m, 12h or 30d (1 s to 366 d)', raw)
  return seconds
}

function url(env: Env, name: string, schemes: string[], fallback?: string): string | undefined {
  const raw = read(env, name) ?? fallback
  if (raw === undefined) return undefined
  let parsed: URL | undefined
  try {
    parsed = new URL(raw)
  } catch {}
  if (!parsed || !schemes.includes(parsed.protocol.slice(0, -1)))
    return fail(name, `a URL starting with ${schemes.map((s) => `${s}:`).join(' or ')}`, raw)
  return raw
}

/** `file:./data/pamps.db` → the absolute directory, created if missing. */
function fileDatabaseDir(databaseUrl: string): string | undefined {
  if (!databaseUrl.startsWith('file:')) return undefined
  const path = decodeURIComponent(databaseUrl.slice('file:'.length).replace(/\?.*$/, ''))
  if (path === ':memory:' || path === '') return undefined
  return dirname(resolve(path))
}

function jwtSecret(env: Env, nodeEnv: NodeEnv, dataDir: string | undefined) {
  const given = read(env, 'JWT_SECRET')
  if (given !== undefined) {
    if (Buffer.byteLength(given) < 32) fail('JWT_SECRET', 'at least 32 bytes long')
    return { secret: given, generated: false }
  }
  if (nodeEnv === 'production') fail('JWT_SECRET', 'set (at least 32 random bytes) when NODE_ENV=production')
  // Development: keep a generated secret beside the database so tokens survive a restart.
  const dir = dataDir ?? resolve('data')
  const file = join(dir, '.jwt-secret')
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim()
    if (Buffer.byteLength(kept) >= 32) return { secret: kept, generated: true }
  }
  const secret = randomBytes(48).toString('base64url')
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return { secret, generated: true }
}

/** Reads and validates the whole configuration once; throws ConfigError naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development')
  const port = int(env, 'PORT', 3000, 0, 65535)
  const databaseUrl =
    url(env, 'DATABASE_URL', ['file', 'libsql', 'http', 'https', 'ws', 'wss'], 'file:./data/pamps.db') ??
    'file:./data/pamps.db'
  const syncUrl = url(env, 'DATABASE_SYNC_URL', ['libsql', 'http', 'https', 'ws', 'wss'])
  if (syncUrl && !databaseUrl.startsWith('file:'))
    fail('DATABASE_URL', 'a file: URL (the local replica) when DATABASE_SYNC_URL is set', databaseUrl)
  const syncInterval = read(env, 'DATABASE_SYNC_INTERVAL')
  const dataDir = fileDatabaseDir(databaseUrl)
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  const publicUrl = url(env, 'PUBLIC_URL', ['http', 'https'], `http://localhost:${port}`) as string
  const mailTransport = oneOf(env, 'MAIL_TRANSPORT', ['console', 'smtp'] as const, 'console')
  const smtpUrl = url(env, 'SMTP_URL', ['smtp', 'smtps'])
  if (mailTransport === 'smtp' && !smtpUrl) fail('SMTP_URL', 'set when MAIL_TRANSPORT=smtp')
  const mailFrom = read(env, 'MAIL_FROM') ?? 'Pamps <no-reply@pamps.local>'
  if (!/^[^<>]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom))
    fail('MAIL_FROM', 'an address such as "Pamps <no-reply@example.com>"', mailFrom)
  const corsOrigins = (read(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  for (const origin of corsOrigins)
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin))
      fail('CORS_ORIGINS', 'a comma-separated list of origins such as https://app.example.com', origin)

  return {
    nodeEnv,
    host: read(env, 'HOST') ?? '0.0.0.0',
    port,
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      nodeEnv === 'test' ? 'silent' : 'info',
    ),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    database: {
      url: databaseUrl,
      authToken: read(env, 'DATABASE_AUTH_TOKEN'),
      syncUrl,
      syncIntervalSeconds: syncInterval === undefined ? undefined : int(env, 'DATABASE_SYNC_INTERVAL', 60, 1, 86400),
      synchronous: oneOf(env, 'DATABASE_SYNCHRONOUS', ['full', 'normal'] as const, 'full').toUpperCase() as
        | 'FULL'
        | 'NORMAL',
      dataDir,
      fileDriver: oneOf(env, 'DATABASE_FILE_DRIVER', ['bun', 'libsql'] as const, 'bun'),
    },
    jwt: { ...jwtSecret(env, nodeEnv, dataDir), issuer: 'pamps', audience: 'pamps-api' },
    accessTokenTtl: duration(env, 'ACCESS_TOKEN_TTL', 15 * 60),
    refreshTokenTtl: duration(env, 'REFRESH_TOKEN_TTL', 30 * 86400),
    password: {
      // OWASP's argon2id floor is 19 MiB / 2 iterations; Bun's default is 64 MiB / 2.
      memoryCost: int(env, 'PASSWORD_MEMORY_COST', 19456, 1024, 1048576),
      timeCost: int(env, 'PASSWORD_TIME_COST', 2, 1, 20),
      // One core stays free for the event loop: on 2 cores a login flood made GET p99 35x its
      // idle value with 4 hashes at once, 18x with 2, 1.3x with 1 (docs/reliability.md).
      maxConcurrent: int(env, 'PASSWORD_MAX_CONCURRENT', Math.max(1, availableParallelism() - 1), 1, 256),
    },
    authRateLimit: int(env, 'AUTH_RATE_LIMIT', 10, 0, 1_000_000),
    writeRateLimit: int(env, 'WRITE_RATE_LIMIT', 300, 0, 1_000_000),
    trustProxy: bool(env, 'TRUST_PROXY'),
    corsOrigins,
    bodyLimit: int(env, 'BODY_LIMIT', 64 * 1024, 1024, 16 * 1024 * 1024),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT', 10, 1, 600) * 1000,
    mail: {
      transport: mailTransport,
      smtpUrl,
      from: mailFrom,
      verifyTtl: duration(env, 'EMAIL_VERIFY_TTL', 24 * 3600),
      resetTtl: duration(env, 'PASSWORD_RESET_TTL', 30 * 60),
    },
  }
}

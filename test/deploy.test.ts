import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'smol-toml'
import { loadConfig } from '../src/config'

const root = join(import.meta.dir, '..')
const read = (file: string) => readFileSync(join(root, file), 'utf8')
const seconds = (d: string) => {
  const m = /^(\d+)(s|m)$/.exec(d)
  if (!m) throw new Error(`not a duration: ${d}`)
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1)
}

interface FlyToml {
  kill_signal: string
  kill_timeout: string
  env: Record<string, string>
  deploy: { release_command: string; strategy: string }
  http_service: {
    internal_port: number
    concurrency: { type: string; soft_limit: number; hard_limit: number }
    checks: { method: string; path: string; timeout: string }[]
  }
  mounts: { source: string; destination: string }[]
  metrics: { port: number; path: string }
  processes: Record<string, string>
}

describe('fly.toml', () => {
  const fly = parse(read('fly.toml')) as unknown as FlyToml

  test('serves the internal port with /health and /ready checks, and limits concurrency', () => {
    expect(fly.http_service.internal_port).toBe(Number(fly.env.PORT))
    expect(fly.http_service.checks.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /health', 'GET /ready'])
    const { soft_limit, hard_limit } = fly.http_service.concurrency
    expect(soft_limit).toBeGreaterThan(0)
    expect(hard_limit).toBeGreaterThanOrEqual(soft_limit)
    expect(fly.metrics).toEqual({ port: fly.http_service.internal_port, path: '/metrics' })
  })

  test('keeps the embedded replica on the mounted volume and migrates the primary on release', () => {
    expect(fly.mounts).toHaveLength(1)
    const mount = fly.mounts[0] as { destination: string }
    expect(fly.env.DATABASE_URL?.startsWith(`file:${mount.destination}/`)).toBe(true)
    const config = loadConfig({
      ...fly.env,
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_SYNC_URL: 'libsql://db.example.turso.io',
    })
    expect(config.database.syncIntervalSeconds).toBeGreaterThan(0)
    expect(fly.deploy.release_command).toContain('bun run pamps migrate')
    // The release machine has no volume: the migration must target the primary.
    expect(fly.deploy.release_command).toContain('DATABASE_URL="$' + '{DATABASE_SYNC_URL')
    expect(fly.deploy.strategy).toBe('rolling')
    expect(fly.processes.app).toBe('bun src/index.ts')
  })

  test('stops with SIGTERM and waits longer than the graceful shutdown', () => {
    expect(fly.kill_signal).toBe('SIGTERM')
    const shutdown = loadConfig({ ...fly.env, JWT_SECRET: 'x'.repeat(32) }).shutdownTimeoutMs / 1000
    expect(seconds(fly.kill_timeout)).toBeGreaterThan(shutdown)
  })
})

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile')
  const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }

  test('builds on the official Bun image of the version the project pins', () => {
    expect(dockerfile).toContain(`ARG BUN_VERSION=${pkg.devDependencies.bun}`)
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    const base = 'oven/bun:$' + '{BUN_VERSION}' // the Dockerfile's own placeholder
    expect(bases).toEqual([base, `${base}-slim`])
    expect(dockerfile).toMatch(/^RUN bun install --production --frozen-lockfile/m)
  })

  test('runs bun src/index.ts as the unprivileged user, with a /health check', () => {
    expect(dockerfile).toMatch(/^CMD \["bun", "src\/index\.ts"\]$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/health/m)
    expect(dockerfile).toContain('ca-certificates')
    const entrypoint = read('docker-entrypoint.sh')
    expect(entrypoint).toContain('APP_USER="$' + '{APP_USER:-bun}"')
    expect(entrypoint).toMatch(/exec setpriv --reuid=/)
  })

  test('copies only files that exist and that .dockerignore lets through', () => {
    const allowed = read('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''))
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(' '))
    expect(copied.length).toBeGreaterThan(0)
    for (const path of copied) {
      expect(existsSync(join(root, path))).toBe(true)
      expect(allowed).toContain(path)
    }
  })
})

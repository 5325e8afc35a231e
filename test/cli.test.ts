import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'pamps-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const env = {
  PATH: process.env.PATH ?? '',
  DATABASE_URL: `file:${join(dir, 'cli.db')}`,
  JWT_SECRET: 'cli-secret-cli-secret-cli-secret-cli-secret',
  PASSWORD_MEMORY_COST: '1024',
  PASSWORD_TIME_COST: '1',
  NODE_ENV: 'test',
}

function pamps(args: string[], extra: Record<string, string> = {}, stdin?: string) {
  const proc = Bun.spawnSync([process.execPath, 'src/cli/index.ts', ...args], {
    env: { ...env, ...extra },
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}

describe('pamps CLI', () => {
  test('migrate twice: the second run says nothing is pending', () => {
    const first = pamps(['migrate'])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('applied 0000_initial')
    const second = pamps(['migrate'])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('No pending migrations')
  })

  test('create-user then users lists it', () => {
    const created = pamps(['create-user', 'ada@example.com', 'ada', '--password', 'password123', '--admin'])
    expect(created.code).toBe(0)
    expect(created.stdout).toContain('ada@example.com')
    const piped = pamps(['create-user', 'bob@example.com', 'bob'], {}, 'password456\n')
    expect(piped.code).toBe(0)
    const list = pamps(['users'])
    expect(list.code).toBe(0)
    const lines = list.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^USERNAME\s+EMAIL\s+ROLE\s+CREATED\s+DISABLED$/)
    expect(lines.some((l) => /^ada\s+ada@example\.com\s+admin\s/.test(l))).toBe(true)
    expect(lines.some((l) => /^bob\s+bob@example\.com\s+user\s/.test(l))).toBe(true)
    const json = pamps(['users', '--json'])
    const users = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(users.map((u) => u.username).sort()).toEqual(['ada', 'bob'])
    expect(json.stdout).not.toContain('argon2')
  })

  test('a duplicate user → non-zero exit and one clear line', () => {
    const dupEmail = pamps(['create-user', 'ADA@example.com', 'ada2', '--password', 'password123'])
    expect(dupEmail.code).not.toBe(0)
    expect(dupEmail.stderr.trim()).toBe('pamps: email is already taken')
    const dupName = pamps(['create-user', 'new@example.com', 'ada', '--password', 'password123'])
    expect(dupName.stderr.trim()).toBe('pamps: username is already taken')
  })

  test('bad input, unknown command and bad flag → non-zero exit with one line', () => {
    const bad = pamps(['create-user', 'not-an-email', 'zed', '--password', 'password123'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    const unknown = pamps(['frobnicate'])
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1)
    expect(unknown.stderr).toContain('frobnicate')
    const flag = pamps(['users', '--bogus'])
    expect(flag.code).not.toBe(0)
    expect(flag.stderr).toContain('--bogus')
  })

  test('reset-db refuses under production and without --yes off a terminal', () => {
    const prod = pamps(['reset-db', '--yes'], { NODE_ENV: 'production' })
    expect(prod.code).not.toBe(0)
    expect(prod.stderr).toContain('production')
    const unconfirmed = pamps(['reset-db'])
    expect(unconfirmed.code).not.toBe(0)
    expect(pamps(['users']).stdout).toContain('ada')
    const reset = pamps(['reset-db', '--yes'])
    expect(reset.code).toBe(0)
    expect(pamps(['users']).stdout).toContain('No users yet')
  })

  test('an unreachable database → non-zero exit with one line', () => {
    const res = pamps(['users'], { DATABASE_URL: 'http://127.0.0.1:1' })
    expect(res.code).not.toBe(0)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
  })
})

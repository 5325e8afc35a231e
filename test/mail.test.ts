import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SMTPServer } from 'smtp-server'
import { createUser } from './factories'
import { createTestContext, expectProblem } from './helpers'
import { freePort } from './processes'

interface Received {
  to: string[]
  raw: string
  text: string
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
function startSmtp(port: number) {
  const inbox: Received[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = ''
      stream.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8')
      })
      stream.on('end', () => {
        // Undo quoted-printable soft breaks and escapes so links can be read back.
        const text = raw
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, text })
        callback()
      })
    },
  })
  const listening = new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { server, inbox, listening, close: () => new Promise<void>((r) => server.close(() => r())) }
}

async function waitFor<T>(fn: () => T | undefined, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await Bun.sleep(25)
  }
}

const tokenIn = (mail: Received, path: string) => {
  const match = new RegExp(`http://pamps\\.test${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text)
  if (!match?.[1]) throw new Error(`no ${path} link in mail`)
  return match[1]
}

const smtpPort = freePort()
const smtp = startSmtp(smtpPort)
await smtp.listening
afterAll(() => smtp.close())

const ctx = await createTestContext({
  MAIL_TRANSPORT: 'smtp',
  SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
  PUBLIC_URL: 'http://pamps.test',
  MAIL_FROM: 'Pamps <no-reply@pamps.test>',
})
ctx.services.mailer.start()
const mailFor = (address: string) => waitFor(() => smtp.inbox.find((m) => m.to.includes(address)))

describe('email verification over SMTP', () => {
  test('the mail arrives with a working single-use link', async () => {
    const u = await createUser(ctx)
    const requested = await ctx.call('POST', '/api/v1/auth/verify-email/request', { token: u.token })
    expect(requested.status).toBe(202)
    const mail = await mailFor(u.email)
    expect(mail.raw).toContain('Subject: Confirm your email address for Pamps')
    expect(mail.raw).toContain('From: Pamps <no-reply@pamps.test>')
    expect(mail.raw).toContain('text/html')
    expect(mail.raw).toContain('text/plain')
    const token = tokenIn(mail, '/verify-email')

    const verified = await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token } })
    expect(verified.status).toBe(200)
    expect(verified.body).toMatchObject({ username: u.username, email_verified: true })
    const again = await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token } })
    expect(expectProblem(again, 422, 'validation_failed').errors[0]).toEqual({
      field: 'token',
      message: 'has already been used',
    })
    // Verified: asking again is a conflict, not another mail.
    expectProblem(await ctx.call('POST', '/api/v1/auth/verify-email/request', { token: u.token }), 409, 'conflict')
    expectProblem(await ctx.call('POST', '/api/v1/auth/verify-email/request'), 401, 'unauthorized')
  })

  test('an unknown, expired or wrong-purpose token is 422 and changes nothing', async () => {
    const u = await createUser(ctx)
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token: 'nope' } }),
      422,
      'validation_failed',
    )
    await ctx.call('POST', '/api/v1/auth/password-reset/request', { body: { email: u.email } })
    const resetToken = tokenIn(await mailFor(u.email), '/reset-password')
    const wrongPurpose = await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token: resetToken } })
    expect(expectProblem(wrongPurpose, 422, 'validation_failed').errors[0].message).toBe('is not valid for this action')

    const v = await createUser(ctx)
    await ctx.call('POST', '/api/v1/auth/verify-email/request', { token: v.token })
    const token = tokenIn(await mailFor(v.email), '/verify-email')
    await ctx.database.client.execute("UPDATE account_tokens SET expires_at = 1 WHERE purpose = 'verify_email'")
    const expired = await ctx.call('POST', '/api/v1/auth/verify-email', { body: { token } })
    expect(expectProblem(expired, 422, 'validation_failed').errors[0].message).toBe('has expired')
    const me = await ctx.call('GET', '/api/v1/users/me', { token: v.token })
    expect(me.body.email_verified).toBe(false)
  })
})

describe('password reset over SMTP', () => {
  test('the reset works once; the old password and every old session fail', async () => {
    const u = await createUser(ctx)
    const other = (
      await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: u.password },
      })
    ).body
    const requested = await ctx.call('POST', '/api/v1/auth/password-reset/request', {
      body: { email: u.email.toUpperCase() },
    })
    expect(requested.status).toBe(202)
    const mail = await mailFor(u.email)
    expect(mail.raw).toContain('Subject: Reset your Pamps password')
    const token = tokenIn(mail, '/reset-password')

    const short = await ctx.call('POST', '/api/v1/auth/password-reset', { body: { token, new_password: 'short' } })
    expectProblem(short, 422, 'validation_failed')
    const reset = await ctx.call('POST', '/api/v1/auth/password-reset', {
      body: { token, new_password: 'a whole new password' },
    })
    expect(reset.status).toBe(204)

    for (const access of [u.token, other.access_token])
      expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: access }), 401, 'unauthorized')
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: other.refresh_token } }),
      401,
      'unauthorized',
    )
    const oldLogin = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: u.password },
    })
    expectProblem(oldLogin, 401, 'unauthorized')
    const newLogin = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: 'a whole new password' },
    })
    expect(newLogin.status).toBe(200)
    const twice = await ctx.call('POST', '/api/v1/auth/password-reset', {
      body: { token, new_password: 'yet another password' },
    })
    expect(expectProblem(twice, 422, 'validation_failed').errors[0].message).toBe('has already been used')
  })

  test('an unknown email → 202, the same body as a known one, and no mail', async () => {
    const u = await createUser(ctx)
    const before = smtp.inbox.length
    const known = await ctx.call('POST', '/api/v1/auth/password-reset/request', { body: { email: u.email } })
    const unknown = await ctx.call('POST', '/api/v1/auth/password-reset/request', {
      body: { email: 'nobody@nowhere.test' },
    })
    expect(unknown.status).toBe(202)
    expect(unknown.body).toEqual(known.body)
    await mailFor(u.email)
    await Bun.sleep(300)
    expect(smtp.inbox.length).toBe(before + 1)
    expect(smtp.inbox.some((m) => m.to.includes('nobody@nowhere.test'))).toBe(false)
  })
})

describe('delivery survives outages', () => {
  test('SMTP down at request time → 202, and the mail goes out once the server is up', async () => {
    const port = freePort()
    const down = await createTestContext({
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_URL: 'http://pamps.test',
    })
    down.services.mailer.start()
    const u = await createUser(down)
    const res = await down.call('POST', '/api/v1/auth/password-reset/request', { body: { email: u.email } })
    expect(res.status).toBe(202)
    // Let a few attempts fail.
    await Bun.sleep(400)
    const attempts = await down.database.client.execute('SELECT attempts, sent_at, last_error FROM outbox')
    expect(Number(attempts.rows[0]?.attempts)).toBeGreaterThan(0)
    expect(attempts.rows[0]?.sent_at).toBeNull()
    const late = startSmtp(port)
    await late.listening
    try {
      const mail = await waitFor(() => late.inbox.find((m) => m.to.includes(u.email)))
      expect(tokenIn(mail, '/reset-password')).toBeString()
      expect(await down.services.mailer.backlog()).toBe(0)
    } finally {
      await late.close()
    }
  })

  test('the process killed between accept and delivery → the mail is delivered after restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pamps-mail-crash-'))
    const port = freePort()
    const env = {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(freePort()),
      DATABASE_URL: `file:${join(dir, 'mail.db')}`,
      JWT_SECRET: 'mail-crash-secret-mail-crash-secret-mail',
      PASSWORD_MEMORY_COST: '1024',
      PASSWORD_TIME_COST: '1',
      LOG_LEVEL: 'silent',
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_URL: 'http://pamps.test',
    }
    const base = `http://127.0.0.1:${env.PORT}`
    const start = async () => {
      const proc = Bun.spawn([process.execPath, 'src/index.ts'], { env, stdout: 'ignore', stderr: 'ignore' })
      for (let i = 0; i < 200; i++) {
        try {
          if ((await fetch(`${base}/ready`)).ok) return proc
        } catch {}
        await Bun.sleep(50)
      }
      throw new Error('server did not become ready')
    }
    let proc = await start()
    let late: ReturnType<typeof startSmtp> | undefined
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      expect(
        (
          await post('/api/v1/auth/register', {
            username: 'crashy',
            email: 'crashy@example.com',
            password: 'password123',
          })
        ).status,
      ).toBe(201)
      expect((await post('/api/v1/auth/password-reset/request', { email: 'crashy@example.com' })).status).toBe(202)
      proc.kill('SIGKILL')
      await proc.exited
      late = startSmtp(port)
      await late.listening
      proc = await start()
      const mail = await waitFor(() => late?.inbox.find((m) => m.to.includes('crashy@example.com')), 15_000)
      expect(mail.text).toContain('http://pamps.test/reset-password?token=')
    } finally {
      proc.kill('SIGKILL')
      await late?.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

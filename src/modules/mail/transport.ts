import nodemailer from 'nodemailer'
import type { Logger } from '../../logger'

export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
}

/** Delivers one message or throws; the outbox retries what throws. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>
  close(): void
}

/** Development: the message, link included, as an info log line. */
export function consoleTransport(logger: Logger, from: string): MailTransport {
  return {
    async send(message) {
      logger.info(
        { mail: { from, to: message.to, subject: message.subject, text: message.text } },
        'mail (console transport)',
      )
    },
    close() {},
  }
}

/** SMTP through nodemailer: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://` (TLS). */
export function smtpTransport(url: string, from: string, options: { timeoutMs?: number } = {}): MailTransport {
  const timeout = options.timeoutMs ?? 15_000
  const parsed = new URL(url)
  const secure = parsed.protocol === 'smtps:'
  const transporter = nodemailer.createTransport({
    host: parsed.hostname,
    port: Number(parsed.port) || (secure ? 465 : 587),
    secure,
    auth: parsed.username
      ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
      : undefined,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  })
  return {
    async send(message) {
      await transporter.sendMail({ from, ...message })
    },
    close: () => transporter.close(),
  }
}

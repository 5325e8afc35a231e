import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { outbox } from '../../db/schema'
import { safeError } from '../../errors'
import type { Logger } from '../../logger'
import type { MailMessage, MailTransport } from './transport'

/** The outbox row of a message, to write in the same batch as what the mail is about. */
export function enqueueMail(db: Db, message: MailMessage, now = Date.now()) {
  return db.insert(outbox).values({
    toAddress: message.to,
    subject: message.subject,
    textBody: message.text,
    htmlBody: message.html,
    createdAt: now,
    nextAttemptAt: now,
  })
}

export interface OutboxOptions {
  pollMs: number
  /** How long a claim holds; a worker that dies mid-delivery releases its rows when it expires. */
  leaseMs: number
  baseBackoffMs: number
  maxBackoffMs: number
  /** After this many failed attempts a row is marked failed and no longer retried. */
  maxAttempts: number
  batchSize: number
}

const defaults: OutboxOptions = {
  pollMs: 2000,
  leaseMs: 30_000,
  baseBackoffMs: 2000,
  maxBackoffMs: 10 * 60_000,
  maxAttempts: 30,
  batchSize: 20,
}

/**
 * Delivers pending outbox rows in the background: claims a few with one conditional UPDATE
 * (so several instances never take the same row), sends each, and marks it sent — or schedules
 * a retry with exponential backoff. Rows survive crashes and SMTP outages; a restart resumes.
 */
export class OutboxWorker {
  readonly id = crypto.randomUUID()
  readonly #options: OutboxOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<number> | undefined
  #stopped = true
  #again = false

  constructor(
    private readonly db: Db,
    private readonly transport: MailTransport,
    private readonly logger: Logger,
    options: Partial<OutboxOptions> = {},
  ) {
    this.#options = { ...defaults, ...options }
  }

  start(): void {
    this.#stopped = false
    this.kick()
  }

  /** Looks for work now (called after a request queued a mail) instead of at the next poll. */
  kick(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#loop(), 0)
  }

  /** Stops polling and waits for a delivery in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#running
  }

  async #loop(): Promise<void> {
    this.#timer = undefined
    let delivered = 0
    try {
      this.#running = this.runOnce()
      delivered = await this.#running
    } catch (error) {
      this.logger.warn({ err: safeError(error) }, 'outbox: could not claim mail')
    } finally {
      this.#running = undefined
    }
    if (this.#stopped) return
    const soon = delivered > 0 || this.#again
    this.#again = false
    this.#timer = setTimeout(() => void this.#loop(), soon ? 0 : this.#options.pollMs)
  }

  /** Claims and delivers one batch of due rows; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const now = Date.now()
    const { leaseMs, batchSize } = this.#options
    const claimed = await this.db
      .update(outbox)
      .set({ claimedBy: this.id, claimedUntil: now + leaseMs, attempts: sql`${outbox.attempts} + 1` })
      .where(
        sql`${outbox.id} in (select id from outbox
          where sent_at is null and failed_at is null and next_attempt_at <= ${now}
            and (claimed_until is null or claimed_until < ${now})
          order by next_attempt_at limit ${batchSize})`,
      )
      .returning()
    for (const row of claimed) {
      const mine = and(eq(outbox.id, row.id), eq(outbox.claimedBy, this.id))
      try {
        await this.transport.send({ to: row.toAddress, subject: row.subject, text: row.textBody, html: row.htmlBody })
        await this.db.update(outbox).set({ sentAt: Date.now(), claimedUntil: null, lastError: null }).where(mine)
        this.logger.info({ outbox_id: row.id, attempts: row.attempts }, 'mail delivered')
      } catch (error) {
        const failed = row.attempts >= this.#options.maxAttempts
        const delay = Math.min(this.#options.baseBackoffMs * 2 ** (row.attempts - 1), this.#options.maxBackoffMs)
        const message = safeError(error).message.slice(0, 500)
        await this.db
          .update(outbox)
          .set({
            claimedUntil: null,
            lastError: message,
            nextAttemptAt: Date.now() + delay,
            ...(failed ? { failedAt: Date.now() } : {}),
          })
          .where(mine)
        this.logger.warn(
          { outbox_id: row.id, attempts: row.attempts, retry_in_ms: failed ? null : delay, error: message },
          failed ? 'mail failed for good' : 'mail delivery failed; will retry',
        )
      }
    }
    return claimed.length
  }

  /** Rows not yet sent nor given up on. */
  async backlog(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>(
      sql`select count(*) as n from outbox where sent_at is null and failed_at is null`,
    )
    return Number(row?.n ?? 0)
  }
}

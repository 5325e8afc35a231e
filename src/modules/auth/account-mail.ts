import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { accountTokens, sessions, type UserRow, users } from '../../db/schema'
import { sha256 } from '../../hash'
import { conflict, HttpError, notFound } from '../../http/problem'
import { passwordResetMessage, verifyEmailMessage } from '../mail/messages'
import { enqueueMail } from '../mail/outbox'
import type { PasswordHasher } from './password'
import { randomId } from './tokens'

type Purpose = 'verify_email' | 'password_reset'

export interface AccountMailOptions {
  publicUrl: string
  verifyTtl: number
  resetTtl: number
}

const badToken = (message: string) =>
  new HttpError(422, 'validation_failed', `token ${message}`, { errors: [{ field: 'token', message }] })

/**
 * Email verification and password reset: a random single-use token, stored only as a hash,
 * mailed through the outbox in the same atomic batch that stores it.
 */
export class AccountMailService {
  constructor(
    private readonly db: Db,
    private readonly passwords: PasswordHasher,
    private readonly options: AccountMailOptions,
    /** Called after a mail was queued, so the worker delivers it now rather than at its next poll. */
    private readonly onQueued: () => void = () => {},
  ) {}

  /** Mails a verification link to the user's current address. */
  async requestVerification(userId: number): Promise<void> {
    const user = await this.db.select().from(users).where(eq(users.id, userId)).get()
    if (!user) throw notFound('user')
    if (user.emailVerified) throw conflict('email', 'is already verified')
    const token = randomId(32)
    const link = `${this.options.publicUrl}/verify-email?token=${token}`
    await this.#store(user, 'verify_email', token, this.options.verifyTtl, (to) =>
      verifyEmailMessage(to, user.displayName || user.username, link, Math.round(this.options.verifyTtl / 3600)),
    )
  }

  /** Marks the address the token was sent to as verified; the token works once. */
  async verifyEmail(token: string): Promise<UserRow> {
    const now = Date.now()
    const hash = sha256(token)
    const [used, updated] = await this.db.batch([
      this.#consume(hash, 'verify_email', now),
      this.db
        .update(users)
        .set({ emailVerified: true, updatedAt: now })
        .where(
          sql`${users.id} = (select user_id from account_tokens where token_hash = ${hash} and used_at = ${now})
            and lower(${users.email}) = (select lower(email) from account_tokens where token_hash = ${hash} and used_at = ${now})`,
        )
        .returning(),
    ])
    if (used.length === 0) throw await this.#whyUnusable(hash, 'verify_email', now)
    const user = updated[0]
    // The address changed since the mail was sent: the token proved an address no longer in use.
    if (!user) throw badToken('was sent to an address this account no longer uses')
    return user
  }

  /** Mails a reset link when the address belongs to an enabled account; silently does nothing otherwise. */
  async requestReset(email: string): Promise<void> {
    const user = await this.db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`).get()
    if (!user || user.disabled) return
    const token = randomId(32)
    const link = `${this.options.publicUrl}/reset-password?token=${token}`
    await this.#store(user, 'password_reset', token, this.options.resetTtl, (to) =>
      passwordResetMessage(to, user.displayName || user.username, link, Math.round(this.options.resetTtl / 60)),
    )
  }

  /** Sets a new password with a reset token, and ends every session of the user, atomically. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const hash = sha256(token)
    const now = Date.now()
    // Check first so a bad token costs no hashing; the batch below re-checks atomically.
    const usable = await this.db
      .select({ id: accountTokens.id })
      .from(accountTokens)
      .where(this.#usable(hash, 'password_reset', now))
      .get()
    if (!usable) throw await this.#whyUnusable(hash, 'password_reset', now)
    const passwordHash = await this.passwords.hash(newPassword)
    const owner = sql`(select user_id from account_tokens where token_hash = ${hash} and used_at = ${now})`
    const [used] = await this.db.batch([
      this.#consume(hash, 'password_reset', now),
      this.db.update(users).set({ passwordHash, updatedAt: now }).where(sql`${users.id} = ${owner}`),
      this.db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(isNull(sessions.revokedAt), sql`${sessions.userId} = ${owner}`)),
    ])
    if (used.length === 0) throw await this.#whyUnusable(hash, 'password_reset', now)
  }

  async #store(
    user: UserRow,
    purpose: Purpose,
    token: string,
    ttlSeconds: number,
    message: (to: string) => Parameters<typeof enqueueMail>[1],
  ) {
    const now = Date.now()
    await this.db.batch([
      this.db.insert(accountTokens).values({
        userId: user.id,
        purpose,
        tokenHash: sha256(token),
        email: user.email,
        createdAt: now,
        expiresAt: now + ttlSeconds * 1000,
      }),
      enqueueMail(this.db, message(user.email), now),
    ])
    this.onQueued()
  }

  #usable(hash: string, purpose: Purpose, now: number) {
    return and(
      eq(accountTokens.tokenHash, hash),
      eq(accountTokens.purpose, purpose),
      isNull(accountTokens.usedAt),
      gt(accountTokens.expiresAt, now),
    )
  }

  #consume(hash: string, purpose: Purpose, now: number) {
    return this.db
      .update(accountTokens)
      .set({ usedAt: now })
      .where(this.#usable(hash, purpose, now))
      .returning({ userId: accountTokens.userId })
  }

  async #whyUnusable(hash: string, purpose: Purpose, now: number): Promise<HttpError> {
    const row = await this.db.select().from(accountTokens).where(eq(accountTokens.tokenHash, hash)).get()
    if (!row || row.purpose !== purpose) return badToken('is not valid for this action')
    if (row.usedAt !== null) return badToken('has already been used')
    if (row.expiresAt <= now) return badToken('has expired')
    return badToken('is not valid for this action')
  }
}

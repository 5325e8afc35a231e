import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sessions, type UserRow, users } from '../../db/schema'
import { sha256 } from '../../hash'
import { accountDisabled, conflict, HttpError, notFound, unauthorized, unprocessable } from '../../http/problem'
import type { PasswordHasher } from './password'
import { randomId, type TokenService } from './tokens'

/** Who is calling: resolved once per request from the access token and its live session. */
export interface Viewer {
  id: number
  username: string
  role: 'user' | 'admin'
  sessionId: string
}

export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
}

export interface RegisterInput {
  username: string
  email: string
  password: string
  displayName?: string
}

const oauth = (error: string) => ({ error })
const invalidGrant = (detail: string) =>
  new HttpError(401, 'unauthorized', detail, {
    extra: oauth('invalid_grant'),
    headers: { 'WWW-Authenticate': 'Bearer realm="pamps"' },
  })

function constraintField(error: unknown): 'username' | 'email' | undefined {
  const text = `${(error as Error)?.message ?? ''} ${(error as { cause?: Error })?.cause?.message ?? ''}`
  const index = /UNIQUE constraint failed: index '?users_(username|email)_lower_unique/i.exec(text)
  return index ? (index[1]?.toLowerCase() as 'username' | 'email') : undefined
}

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly tokens: TokenService,
    private readonly passwords: PasswordHasher,
    private readonly ttl: { access: number; refresh: number },
  ) {}

  /** Creates the account and its first session in one atomic batch. */
  async register(input: RegisterInput, userAgent: string | null): Promise<{ user: UserRow } & TokenPair> {
    const passwordHash = await this.passwords.hash(input.password)
    const now = Date.now()
    const sessionId = randomId()
    const rotation = randomId()
    try {
      const [inserted] = await this.db.batch([
        this.db
          .insert(users)
          .values({
            username: input.username,
            email: input.email,
            displayName: input.displayName ?? input.username,
            passwordHash,
            createdAt: now,
            updatedAt: now,
          })
          .returning(),
        this.db.run(sql`INSERT INTO sessions (id, user_id, refresh_token_hash, user_agent, created_at, last_used_at, expires_at)
          VALUES (${sessionId}, last_insert_rowid(), ${sha256(rotation)}, ${userAgent}, ${now}, ${now}, ${now + this.ttl.refresh * 1000})`),
      ])
      const user = inserted[0] as UserRow
      return { user, ...(await this.#pair(user.id, sessionId, rotation)) }
    } catch (error) {
      const field = constraintField(error)
      if (field) throw conflict(field, 'is already taken')
      throw error
    }
  }

  /** Runs on every authenticated request: prepared once, so the SQL is not rebuilt each time. */
  #liveSessionQuery: ReturnType<AuthService['prepareLiveSession']> | undefined
  get #liveSession() {
    this.#liveSessionQuery ??= this.prepareLiveSession()
    return this.#liveSessionQuery
  }

  private prepareLiveSession() {
    return this.db
      .select({ id: users.id, username: users.username, role: users.role, disabled: users.disabled })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(
          eq(sessions.id, sql.placeholder('sid')),
          eq(sessions.userId, sql.placeholder('uid')),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, sql.placeholder('now')),
        ),
      )
      .prepare()
  }

  /** Creates an account without signing in (the CLI's `create-user`). */
  async createAccount(input: RegisterInput & { role?: 'user' | 'admin' }): Promise<UserRow> {
    const passwordHash = await this.passwords.hash(input.password)
    const now = Date.now()
    try {
      const [user] = await this.db
        .insert(users)
        .values({
          username: input.username,
          email: input.email,
          displayName: input.displayName ?? input.username,
          role: input.role ?? 'user',
          passwordHash,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
      return user as UserRow
    } catch (error) {
      const field = constraintField(error)
      if (field) throw conflict(field, 'is already taken')
      throw error
    }
  }

  /** OAuth password grant: `login` is a username or an email. */
  async login(login: string, password: string, userAgent: string | null): Promise<TokenPair> {
    const user = await this.findByLogin(login)
    const ok = await this.passwords.verify(password, user?.passwordHash)
    if (!user || !ok) throw invalidGrant('The username or password is incorrect')
    if (user.disabled) throw accountDisabled(oauth('invalid_grant'))
    const now = Date.now()
    const sessionId = randomId()
    const rotation = randomId()
    await this.db.insert(sessions).values({
      id: sessionId,
      userId: user.id,
      refreshTokenHash: sha256(rotation),
      userAgent,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.ttl.refresh * 1000,
    })
    return this.#pair(user.id, sessionId, rotation)
  }

  findByLogin(login: string): Promise<UserRow | undefined> {
    const column = login.includes('@') ? users.email : users.username
    return this.db.select().from(users).where(sql`lower(${column}) = lower(${login})`).get()
  }

  /**
   * Rotates a refresh token. Presenting one that was already rotated revokes the whole
   * session (reuse detection, RFC 9700 §4.14.2): whoever holds either copy is logged out.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    let claims: Awaited<ReturnType<TokenService['verify']>>
    try {
      claims = await this.tokens.verify('refresh', refreshToken)
    } catch {
      throw invalidGrant('The refresh token is invalid, expired or revoked')
    }
    const now = Date.now()
    const next = randomId()
    const rotated = await this.db
      .update(sessions)
      .set({ refreshTokenHash: sha256(next), lastUsedAt: now, expiresAt: now + this.ttl.refresh * 1000 })
      .where(
        and(
          eq(sessions.id, claims.sessionId),
          eq(sessions.userId, claims.userId),
          eq(sessions.refreshTokenHash, sha256(claims.jti)),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
          sql`exists (select 1 from users where users.id = ${sessions.userId} and users.disabled = 0)`,
        ),
      )
      .returning({ id: sessions.id })
    if (rotated.length === 0) {
      // Not the current token of a live session: if the session is live, this is reuse.
      await this.db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.id, claims.sessionId), isNull(sessions.revokedAt)))
      throw invalidGrant('The refresh token is invalid, expired or revoked')
    }
    return this.#pair(claims.userId, claims.sessionId, next)
  }

  /** The caller of an access token whose session is live and whose account is enabled. */
  async resolveViewer(accessToken: string): Promise<Viewer> {
    const claims = await this.tokens.verify('access', accessToken)
    const row = await this.#liveSession.get({ sid: claims.sessionId, uid: claims.userId, now: Date.now() })
    if (!row) throw unauthorized('The session has ended; sign in again', 'unauthorized')
    if (row.disabled) throw accountDisabled()
    return { id: row.id, username: row.username, role: row.role, sessionId: claims.sessionId }
  }

  async logout(viewer: Viewer): Promise<void> {
    await this.db
      .update(sessions)
      .set({ revokedAt: Date.now() })
      .where(and(eq(sessions.id, viewer.sessionId), isNull(sessions.revokedAt)))
  }

  /** Ends every session of the user, or every one but `except`. */
  async endSessions(userId: number, except?: string): Promise<void> {
    await this.db
      .update(sessions)
      .set({ revokedAt: Date.now() })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), except ? ne(sessions.id, except) : undefined))
  }

  listSessions(viewer: Viewer) {
    return this.db
      .select({
        id: sessions.id,
        createdAt: sessions.createdAt,
        lastUsedAt: sessions.lastUsedAt,
        userAgent: sessions.userAgent,
      })
      .from(sessions)
      .where(and(eq(sessions.userId, viewer.id), isNull(sessions.revokedAt), gt(sessions.expiresAt, Date.now())))
      .orderBy(sql`${sessions.lastUsedAt} desc`, sessions.id)
  }

  /** Ends one of the viewer's own sessions; another user's is 404. */
  async endSession(viewer: Viewer, sessionId: string): Promise<void> {
    const ended = await this.db
      .update(sessions)
      .set({ revokedAt: Date.now() })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, viewer.id), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id })
    if (ended.length === 0) throw notFound('session')
  }

  /** Changes the password and ends every other session of the user. */
  async changePassword(viewer: Viewer, current: string, next: string): Promise<void> {
    const user = await this.db.select().from(users).where(eq(users.id, viewer.id)).get()
    if (!user || !(await this.passwords.verify(current, user.passwordHash)))
      throw unprocessable('current_password', 'is incorrect')
    const passwordHash = await this.passwords.hash(next)
    const now = Date.now()
    await this.db.batch([
      this.db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, viewer.id)),
      this.db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.userId, viewer.id), isNull(sessions.revokedAt), ne(sessions.id, viewer.sessionId))),
    ])
  }

  async verifyPassword(userId: number, password: string): Promise<boolean> {
    const user = await this.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId)).get()
    return this.passwords.verify(password, user?.hash)
  }

  async #pair(userId: number, sessionId: string, rotation: string): Promise<TokenPair> {
    const [access, refresh] = await Promise.all([
      this.tokens.sign('access', { userId, sessionId, jti: randomId() }),
      this.tokens.sign('refresh', { userId, sessionId, jti: rotation }),
    ])
    return { access_token: access, token_type: 'Bearer', expires_in: this.ttl.access, refresh_token: refresh }
  }
}

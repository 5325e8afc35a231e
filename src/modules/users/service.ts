import { and, eq, gt, isNull, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sessions, type UserRow, users } from '../../db/schema'
import { notFound, unprocessable } from '../../http/problem'
import type { AuthService } from '../auth/service'
import type { Relation } from './serializer'

export interface ProfilePatch {
  displayName?: string
  bio?: string
  avatarUrl?: string | null
}

export type UserWithRelation = UserRow & { relation?: Relation }

/**
 * `users.*` plus, for an authenticated viewer, how the viewer and each user follow each other.
 * The outer reference is written qualified by hand: in a single-table select Drizzle drops table
 * names, and a bare `id` inside the subquery would mean `follows.id`.
 */
export function userColumnsFor(viewerId: number | undefined) {
  return {
    user: users,
    followedByMe:
      viewerId === undefined
        ? sql<null>`null`
        : sql<number>`exists (select 1 from follows f where f.follower_id = ${viewerId} and f.followee_id = "users"."id")`,
    followsMe:
      viewerId === undefined
        ? sql<null>`null`
        : sql<number>`exists (select 1 from follows f where f.follower_id = "users"."id" and f.followee_id = ${viewerId})`,
  }
}

export function withRelation(row: {
  user: UserRow
  followedByMe: number | null
  followsMe: number | null
}): UserWithRelation {
  if (row.followedByMe === null || row.followsMe === null) return row.user
  return { ...row.user, relation: { followedByMe: Boolean(row.followedByMe), followsMe: Boolean(row.followsMe) } }
}

/** Lower-case prefix match on a lower(...) expression index, as an index range. */
export function prefixRange(column: SQL, prefix: string): SQL {
  const p = prefix.toLowerCase()
  return sql`(${column} >= ${p} and ${column} < ${`${p}\u{10FFFF}`})`
}

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly auth: AuthService,
  ) {}

  async get(id: number): Promise<UserRow> {
    const user = await this.db.select().from(users).where(eq(users.id, id)).get()
    if (!user) throw notFound('user')
    return user
  }

  /** An enabled user by username (any case); disabled and unknown users are both 404. */
  async byUsername(username: string, viewerId?: number): Promise<UserWithRelation> {
    const row = await this.db
      .select(userColumnsFor(viewerId))
      .from(users)
      .where(and(sql`lower(${users.username}) = lower(${username})`, eq(users.disabled, false)))
      .get()
    if (!row) throw notFound('user')
    return withRelation(row)
  }

  async updateProfile(id: number, patch: ProfilePatch): Promise<UserRow> {
    const [user] = await this.db
      .update(users)
      .set({ ...patch, updatedAt: Date.now() })
      .where(eq(users.id, id))
      .returning()
    if (!user) throw notFound('user')
    return user
  }

  /** Deletes the account; its posts, likes, follows and sessions go with it (foreign-key cascades). */
  async deleteAccount(id: number, password: string): Promise<void> {
    if (!(await this.auth.verifyPassword(id, password))) throw unprocessable('password', 'is incorrect')
    await this.db.delete(users).where(eq(users.id, id))
  }

  /** Enabled users whose username or display name starts with `q`, by username. */
  search(q: string | undefined, after: string | undefined, limit: number, viewerId?: number) {
    const uname = sql`lower(${users.username})`
    return this.db
      .select(userColumnsFor(viewerId))
      .from(users)
      .where(
        and(
          eq(users.disabled, false),
          q ? sql`(${prefixRange(uname, q)} or ${prefixRange(sql`lower(${users.displayName})`, q)})` : undefined,
          after !== undefined ? gt(uname, after) : undefined,
        ),
      )
      .orderBy(uname)
      .limit(limit + 1)
      .then((rows) => rows.map(withRelation))
  }

  /** Admin listing: every user, disabled ones too, filtered by username, display name or email prefix. */
  adminList(q: string | undefined, after: string | undefined, limit: number) {
    const uname = sql`lower(${users.username})`
    return this.db
      .select()
      .from(users)
      .where(
        and(
          q
            ? sql`(${prefixRange(uname, q)} or ${prefixRange(sql`lower(${users.displayName})`, q)} or ${prefixRange(sql`lower(${users.email})`, q)})`
            : undefined,
          after !== undefined ? gt(uname, after) : undefined,
        ),
      )
      .orderBy(uname)
      .limit(limit + 1)
  }

  /** Sets role and/or disabled; disabling ends every session of the user in the same batch. */
  async adminUpdate(username: string, patch: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<UserRow> {
    const now = Date.now()
    const byName = sql`lower(${users.username}) = lower(${username})`
    const update = this.db
      .update(users)
      .set({ ...patch, updatedAt: now })
      .where(byName)
      .returning()
    const [updated] = patch.disabled
      ? await this.db.batch([
          update,
          this.db
            .update(sessions)
            .set({ revokedAt: now })
            .where(
              and(
                isNull(sessions.revokedAt),
                sql`${sessions.userId} = (select ${users.id} from ${users} where ${byName})`,
              ),
            ),
        ])
      : [await update]
    const user = updated[0]
    if (!user) throw notFound('user')
    return user
  }
}

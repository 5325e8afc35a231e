import { and, eq, gt, isNull, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sessions, type UserRow, users } from '../../db/schema'
import { DEFAULT_PAGE, Keyset, type PageRequest } from '../../http/pagination'
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

/** The user named `username`, ignoring case (users_username_lower_unique). */
export const usernameIs = (username: string) => sql`lower(${users.username}) = lower(${username})`

/** An enabled user named `username`: the rule of every public lookup (a disabled user is unknown). */
export const enabledUsername = (username: string) => and(usernameIs(username), eq(users.disabled, false))

/** Lower-case prefix match on a lower(...) expression index, as an index range. */
export function prefixRange(column: SQL, prefix: string): SQL {
  const p = prefix.toLowerCase()
  return sql`(${column} >= ${p} and ${column} < ${`${p}\u{10FFFF}`})`
}

const byUsername = new Keyset('users', ['string'])
const adminByUsername = new Keyset('admin-users', ['string'])

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
    const row = await this.db.select(userColumnsFor(viewerId)).from(users).where(enabledUsername(username)).get()
    if (!row) throw notFound('user')
    return withRelation(row)
  }

  /** The id of an enabled user by username (any case); disabled and unknown users are both 404. */
  async enabledId(username: string): Promise<number> {
    const row = await this.db.select({ id: users.id }).from(users).where(enabledUsername(username)).get()
    if (!row) throw notFound('user')
    return row.id
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
  async search(q: string | undefined, page: PageRequest, viewerId?: number) {
    const [after] = byUsername.decode(page.cursor) ?? []
    const limit = page.limit ?? DEFAULT_PAGE
    const uname = sql`lower(${users.username})`
    const rows = await this.db
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
    return byUsername.page(rows.map(withRelation), limit, (u) => [u.username.toLowerCase()])
  }

  /** Admin listing: every user, disabled ones too, filtered by username, display name or email prefix. */
  async adminList(q: string | undefined, page: PageRequest) {
    const [after] = adminByUsername.decode(page.cursor) ?? []
    const limit = page.limit ?? DEFAULT_PAGE
    const uname = sql`lower(${users.username})`
    const rows = await this.db
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
    return adminByUsername.page(rows, limit, (u) => [u.username.toLowerCase()])
  }

  /** Sets role and/or disabled; disabling ends every session of the user in the same batch. */
  async adminUpdate(username: string, patch: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<UserRow> {
    const now = Date.now()
    const byName = usernameIs(username)
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

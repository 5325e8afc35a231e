import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { follows, users } from '../../db/schema'
import { notFound, unprocessable } from '../../http/problem'
import type { Viewer } from '../auth/service'
import { enabledUserId } from '../posts/service'
import { userColumnsFor, withRelation } from '../users/service'

export interface FollowState {
  following: boolean
  followersCount: number
}

/** An enabled user by username, ignoring case (the same rule as GET /users/:username). */
const byUsername = (username: string) =>
  and(sql`lower(${users.username}) = lower(${username})`, eq(users.disabled, false))

export class FollowService {
  constructor(private readonly db: Db) {}

  /**
   * Follows a user, idempotently. The row and the followee's count (kept by a trigger) are
   * written and read in one atomic batch, so concurrent follows each see an exact count.
   */
  async follow(viewer: Viewer, username: string): Promise<FollowState> {
    if (username.toLowerCase() === viewer.username.toLowerCase())
      throw unprocessable('username', 'is you; you cannot follow yourself')
    const [, counted] = await this.db.batch([
      this.db.run(sql`
        insert into ${follows} (follower_id, followee_id, created_at)
        select ${viewer.id}, ${users.id}, ${Date.now()} from ${users}
        where ${byUsername(username)} and ${users.id} <> ${viewer.id}
        on conflict do nothing`),
      this.#followersCount(username),
    ])
    const row = counted[0]
    if (!row) throw notFound('user')
    return { following: true, followersCount: row.followersCount }
  }

  /** Unfollows a user, idempotently (not following them already is fine). */
  async unfollow(viewer: Viewer, username: string): Promise<FollowState> {
    const [, counted] = await this.db.batch([
      this.db
        .delete(follows)
        .where(
          and(
            eq(follows.followerId, viewer.id),
            sql`${follows.followeeId} = (select ${users.id} from ${users} where ${byUsername(username)})`,
          ),
        ),
      this.#followersCount(username),
    ])
    const row = counted[0]
    if (!row) throw notFound('user')
    return { following: false, followersCount: row.followersCount }
  }

  #followersCount(username: string) {
    return this.db.select({ followersCount: users.followersCount }).from(users).where(byUsername(username))
  }

  /** Who follows the user, most recent follow first (follows_followee_id_idx). */
  followers(username: string, before: number | undefined, limit: number, viewerId?: number) {
    return this.#list('followers', username, before, limit, viewerId)
  }

  /** Whom the user follows, most recent follow first (follows_follower_id_idx). */
  following(username: string, before: number | undefined, limit: number, viewerId?: number) {
    return this.#list('following', username, before, limit, viewerId)
  }

  async #list(
    direction: 'followers' | 'following',
    username: string,
    before: number | undefined,
    limit: number,
    viewerId?: number,
  ) {
    const userId = await enabledUserId(this.db, username)
    const [self, other] =
      direction === 'followers' ? [follows.followeeId, follows.followerId] : [follows.followerId, follows.followeeId]
    const rows = await this.db
      .select({ ...userColumnsFor(viewerId), followId: follows.id })
      .from(follows)
      .crossJoin(users) // follows drives, in its (user, id) index order (CROSS JOIN is never reordered)
      .where(
        and(
          eq(self, userId),
          eq(users.id, other),
          eq(users.disabled, false),
          before !== undefined ? lt(follows.id, before) : undefined,
        ),
      )
      .orderBy(desc(follows.id))
      .limit(limit + 1)
    return rows.map((r) => ({ followId: r.followId, user: withRelation(r) }))
  }
}

import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { follows, users } from '../../db/schema'
import { DEFAULT_PAGE, Keyset, type PageRequest } from '../../http/pagination'
import { notFound, unprocessable } from '../../http/problem'
import type { Viewer } from '../auth/service'
import { enabledUsername, type UserService, userColumnsFor, withRelation } from '../users/service'
import { canFollow } from './policy'

export interface FollowState {
  following: boolean
  followersCount: number
}

const lists = { followers: new Keyset('followers', ['int']), following: new Keyset('following', ['int']) }

export class FollowService {
  constructor(
    private readonly db: Db,
    private readonly users: UserService,
  ) {}

  /**
   * Follows a user, idempotently. The row and the followee's count (kept by a trigger) are
   * written and read in one atomic batch, so concurrent follows each see an exact count.
   */
  async follow(viewer: Viewer, username: string): Promise<FollowState> {
    if (!canFollow(viewer, username)) throw unprocessable('username', 'is you; you cannot follow yourself')
    const [, counted] = await this.db.batch([
      this.db.run(sql`
        insert into ${follows} (follower_id, followee_id, created_at)
        select ${viewer.id}, ${users.id}, ${Date.now()} from ${users}
        where ${enabledUsername(username)} and ${users.id} <> ${viewer.id}
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
            sql`${follows.followeeId} = (select ${users.id} from ${users} where ${enabledUsername(username)})`,
          ),
        ),
      this.#followersCount(username),
    ])
    const row = counted[0]
    if (!row) throw notFound('user')
    return { following: false, followersCount: row.followersCount }
  }

  #followersCount(username: string) {
    return this.db.select({ followersCount: users.followersCount }).from(users).where(enabledUsername(username))
  }

  /**
   * Who follows the user (`followers`, follows_followee_id_idx) or whom the user follows
   * (`following`, follows_follower_id_idx), most recent follow first.
   */
  async list(direction: 'followers' | 'following', username: string, page: PageRequest, viewerId?: number) {
    const keyset = lists[direction]
    const [before] = keyset.decode(page.cursor) ?? []
    const limit = page.limit ?? DEFAULT_PAGE
    const userId = await this.users.enabledId(username)
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
    const items = rows.map((r) => ({ followId: r.followId, user: withRelation(r) }))
    return keyset.page(items, limit, (r) => [r.followId])
  }
}

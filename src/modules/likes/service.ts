import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { likes, posts, users } from '../../db/schema'
import { DEFAULT_PAGE, Keyset, type PageRequest } from '../../http/pagination'
import { notFound } from '../../http/problem'
import type { Viewer } from '../auth/service'
import { postList } from '../posts/list'
import type { PostService } from '../posts/service'
import { visiblePost } from '../posts/visibility'
import { type UserService, userColumnsFor, withRelation } from '../users/service'

export interface LikeState {
  liked: boolean
  likesCount: number
}

/** The posts a user liked, most recent like first (likes_user_id_idx); the sort key is the like's id. */
const likedBy = postList({
  name: 'user-likes',
  // likes drives, in likes_user_id_idx order (CROSS JOIN is never reordered)
  from: sql`likes cross join posts`,
  where: () => [sql`likes.user_id = ${sql.placeholder('user')}`, sql`posts.id = likes.post_id`],
  key: sql`likes.id`,
  order: 'desc',
})

const likers = new Keyset('post-likes', ['int'])

export class LikeService {
  constructor(
    private readonly db: Db,
    private readonly posts: PostService,
    private readonly users: UserService,
  ) {}

  /** Likes a post, idempotently; the count (kept by a trigger) is read in the same atomic batch. */
  async like(viewer: Viewer, id: number): Promise<LikeState> {
    const [, counted] = await this.db.batch([
      this.db.run(sql`
        insert into likes (user_id, post_id, created_at)
        select ${viewer.id}, ${id}, ${Date.now()} where ${visiblePost(id)}
        on conflict do nothing`),
      this.#likesCount(id),
    ])
    const row = counted[0]
    if (!row) throw notFound('post')
    return { liked: true, likesCount: row.likesCount }
  }

  /** Removes the viewer's like, idempotently. */
  async unlike(viewer: Viewer, id: number): Promise<LikeState> {
    const [, counted] = await this.db.batch([
      this.db.delete(likes).where(and(eq(likes.userId, viewer.id), eq(likes.postId, id))),
      this.#likesCount(id),
    ])
    const row = counted[0]
    if (!row) throw notFound('post')
    return { liked: false, likesCount: row.likesCount }
  }

  #likesCount(id: number) {
    return this.db
      .select({ likesCount: posts.likesCount })
      .from(posts)
      .innerJoin(users, and(eq(users.id, posts.authorId), eq(users.disabled, false)))
      .where(eq(posts.id, id))
  }

  /** Who liked a post, most recent like first (likes_post_id_idx). */
  async likers(id: number, page: PageRequest, viewerId?: number) {
    const [before] = likers.decode(page.cursor) ?? []
    const limit = page.limit ?? DEFAULT_PAGE
    await this.posts.mustBeVisible(id)
    const rows = await this.db
      .select({ ...userColumnsFor(viewerId), likeId: likes.id })
      .from(likes)
      .crossJoin(users) // likes drives, in likes_post_id_idx order (CROSS JOIN is never reordered)
      .where(
        and(
          eq(likes.postId, id),
          eq(users.id, likes.userId),
          eq(users.disabled, false),
          before !== undefined ? lt(likes.id, before) : undefined,
        ),
      )
      .orderBy(desc(likes.id))
      .limit(limit + 1)
    const items = rows.map((r) => ({ likeId: r.likeId, user: withRelation(r) }))
    return likers.page(items, limit, (r) => [r.likeId])
  }

  /** The posts a user liked, most recent like first (404 for an unknown or disabled user). */
  likedBy(username: string, page: PageRequest, viewerId?: number) {
    const user = async () => ({ user: await this.users.enabledId(username) })
    return likedBy.page(this.db, {}, user, page, viewerId)
  }
}

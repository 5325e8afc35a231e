import { sql } from 'drizzle-orm'
import { type BaseShape, column, List, type ListSpec, positions, type RowOf } from '../../db/list'
import { authorJoin, authorVisible } from './visibility'

/**
 * The columns of every post read, in order: the post, its author's summary and the viewer's like.
 * The SELECT, the row type (`PostRow`), each column's position and the serializer (`post()` in
 * serializer.ts) all derive from this one declaration; a new column is one line here and one in
 * the serializer.
 */
export const postColumns = [
  column('id', sql<number>`posts.id`),
  column('text', sql<string>`posts.text`),
  column('replyToId', sql<number | null>`posts.reply_to_id`),
  column('createdAt', sql<number>`posts.created_at`),
  column('editedAt', sql<number | null>`posts.edited_at`),
  column('likesCount', sql<number>`posts.likes_count`),
  column('repliesCount', sql<number>`posts.replies_count`),
  column('authorId', sql<number>`posts.author_id`),
  column('username', sql<string>`u.username`),
  column('displayName', sql<string>`u.display_name`),
  column('avatarUrl', sql<string | null>`u.avatar_url`),
  column('likedByMe', ({ viewer }: BaseShape) =>
    viewer
      ? sql<
          number | null
        >`exists (select 1 from likes l where l.user_id = ${sql.placeholder('viewer')} and l.post_id = posts.id)`
      : sql<number | null>`null`,
  ),
] as const

export type PostColumns = typeof postColumns
/** A post as every post read returns it: the columns above by position, then the list's sort key. */
export type PostRow = RowOf<PostColumns>
export const postAt = positions(postColumns)

/**
 * A post list: the declaration's own tables and filters, with every row joined to its author and
 * only visible posts kept (visibility.ts). `from` names `posts` (alone or after the table that
 * drives the list, e.g. `likes cross join posts`: a CROSS JOIN is never reordered).
 */
export function postList<S extends BaseShape = BaseShape>(
  spec: Omit<ListSpec<PostColumns, S>, 'columns'>,
): List<PostColumns, S> {
  return new List<PostColumns, S>({
    ...spec,
    columns: postColumns,
    from: sql`${spec.from} ${authorJoin}`,
    where: (shape) => [authorVisible, ...spec.where(shape)],
  })
}

import { type SQL, sql } from 'drizzle-orm'
import type { PostRow } from '../../db/schema'
import { iso, userSummary } from '../users/serializer'
import type { PostVersionWire, PostWire } from './model'

/** A post with its author and, for an authenticated caller, whether they like it (null otherwise). */
export interface PostWithAuthor {
  post: PostRow
  author: { id: number; username: string; displayName: string; avatarUrl: string | null }
  likedByMe: number | boolean | null
}

export function post(row: PostWithAuthor): PostWire {
  const p = row.post
  return {
    id: String(p.id),
    text: p.text,
    author: userSummary(row.author),
    reply_to_id: p.replyToId === null ? null : String(p.replyToId),
    created_at: iso(p.createdAt),
    edited_at: p.editedAt === null ? null : iso(p.editedAt),
    likes_count: p.likesCount,
    replies_count: p.repliesCount,
    ...(row.likedByMe === null ? {} : { liked_by_me: Boolean(row.likedByMe) }),
  }
}

export function postVersion(row: { text: string; createdAt: number }): PostVersionWire {
  return { text: row.text, created_at: iso(row.createdAt) }
}

/** An integer-milliseconds column as ISO 8601 UTC with milliseconds, exactly as `iso()` writes it. */
const isoSql = (column: SQL) =>
  sql`strftime('%Y-%m-%dT%H:%M:%S', ${column} / 1000, 'unixepoch') || '.' || printf('%03d', ${column} % 1000) || 'Z'`

/**
 * The same Post as `post()`, built by SQLite for the current `posts` row: a list page then
 * crosses from SQLite to JavaScript as one text value per post instead of a dozen, and is sent
 * without being parsed or re-serialized (that marshalling is most of a feed's cost).
 * Author columns are primary-key lookups, like PostService's.
 */
export function postJson(viewerId: number | undefined): SQL<string> {
  const likedByMe =
    viewerId === undefined
      ? sql``
      : sql`, 'liked_by_me', json(case when exists (select 1 from likes l where l.user_id = ${viewerId} and l.post_id = "posts"."id") then 'true' else 'false' end)`
  return sql<string>`json_object(
    'id', cast("posts"."id" as text),
    'text', "posts"."text",
    'author', json((select json_object('id', cast(u.id as text), 'username', u.username, 'display_name', u.display_name, 'avatar_url', u.avatar_url) from users u where u.id = "posts"."author_id")),
    'reply_to_id', cast("posts"."reply_to_id" as text),
    'created_at', ${isoSql(sql`"posts"."created_at"`)},
    'edited_at', case when "posts"."edited_at" is null then null else ${isoSql(sql`"posts"."edited_at"`)} end,
    'likes_count', "posts"."likes_count",
    'replies_count', "posts"."replies_count"${likedByMe})`
}

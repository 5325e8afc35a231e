import type { PostRow } from '../../db/schema'
import { iso } from '../../http/iso'
import { userSummary } from '../users/serializer'
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

/**
 * A post list row, by position: the columns of PostService's list queries in this order, then
 * the list's sort key (the post's id, or the like's id for a user's likes), for the cursor. Positional rows skip
 * Drizzle's per-row mapping, which costs about as much as the query on a page of 20.
 */
export type PostListRow = ArrayLike<unknown>
export const LIST_CURSOR = 12

export function postFromRow(r: PostListRow): PostWire {
  const likedByMe = r[11]
  const wire: PostWire = {
    id: String(r[0]),
    text: r[1] as string,
    author: {
      id: String(r[7]),
      username: r[8] as string,
      display_name: r[9] as string,
      avatar_url: (r[10] as string | null) ?? null,
    },
    reply_to_id: r[2] === null ? null : String(r[2]),
    created_at: iso(r[3] as number),
    edited_at: r[4] === null ? null : iso(r[4] as number),
    likes_count: r[5] as number,
    replies_count: r[6] as number,
  }
  if (likedByMe !== null && likedByMe !== undefined) wire.liked_by_me = Boolean(likedByMe)
  return wire
}

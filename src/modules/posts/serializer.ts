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

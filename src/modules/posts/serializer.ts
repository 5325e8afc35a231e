import { iso } from '../../http/iso'
import { postAt as at, type PostRow } from './list'
import type { PostVersionWire, PostWire } from './model'

/** A post row (list.ts), by position, → the wire Post. */
export function post(r: PostRow): PostWire {
  const likedByMe = r[at.likedByMe]
  const replyToId = r[at.replyToId]
  const editedAt = r[at.editedAt]
  const wire: PostWire = {
    id: String(r[at.id]),
    text: r[at.text],
    author: {
      id: String(r[at.authorId]),
      username: r[at.username],
      display_name: r[at.displayName],
      avatar_url: r[at.avatarUrl] ?? null,
    },
    reply_to_id: replyToId === null ? null : String(replyToId),
    created_at: iso(r[at.createdAt]),
    edited_at: editedAt === null ? null : iso(editedAt),
    likes_count: r[at.likesCount],
    replies_count: r[at.repliesCount],
  }
  if (likedByMe !== null && likedByMe !== undefined) wire.liked_by_me = Boolean(likedByMe)
  return wire
}

export function postVersion(row: { text: string; createdAt: number }): PostVersionWire {
  return { text: row.text, created_at: iso(row.createdAt) }
}

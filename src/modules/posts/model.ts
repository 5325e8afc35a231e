import { t } from 'elysia'
import { PageQuery, pageOf } from '../../http/pagination'
import { chars, Query } from '../../http/params'
import { UserSummary } from '../users/model'

const id = t.String({ description: 'Opaque identifier', examples: ['42'] })
const timestamp = t.String({ format: 'date-time', examples: ['2026-11-23T03:00:00.000Z'] })

/** Counted in Unicode code points after trimming; checked by PostService (TypeBox counts UTF-16 units). */
export const TEXT_MAX = 500
const textError = `text must be 1 to ${TEXT_MAX} characters`
const text = t.String({
  description: `1 to ${TEXT_MAX} characters (Unicode code points) after trimming surrounding whitespace; stored trimmed`,
  error: textError,
  examples: ['Hello, Pamps!'],
})

export const Post = t.Object(
  {
    id,
    text: t.String(),
    author: UserSummary,
    reply_to_id: t.Union([t.String(), t.Null()], {
      description: 'The post this one replies to (it may have been deleted since)',
    }),
    created_at: timestamp,
    edited_at: t.Union([timestamp, t.Null()]),
    likes_count: t.Integer(),
    replies_count: t.Integer(),
    liked_by_me: t.Optional(t.Boolean({ description: 'Present when the caller is authenticated' })),
  },
  { title: 'Post' },
)

export const PostPage = pageOf(Post, 'PostPage')

export const CreatePostBody = t.Object(
  {
    text,
    reply_to_id: t.Optional(
      t.Union([chars({ maxLength: 32, error: 'reply_to_id must be a post id (a string) or null' }), t.Null()], {
        error: 'reply_to_id must be a post id (a string) or null',
        description: 'Makes the post a reply; an unknown post is 422',
      }),
    ),
  },
  { additionalProperties: false },
)

export const UpdatePostBody = t.Object({ text }, { additionalProperties: false })

export const IdempotencyHeaders = t.Object({
  'idempotency-key': t.Optional(
    chars({
      minLength: 1,
      maxLength: 255,
      error: 'idempotency-key must be 1 to 255 characters',
      description:
        'A retry with the same key by the same user within 24 hours returns the first result (201, the same post) ' +
        'and creates nothing; the same key with a different body is 422.',
    }),
  ),
})

export const PostParams = t.Object({ id: t.String({ description: 'Post id' }) })

export const FeedQuery = Query({
  include_replies: t.Optional(
    t.Boolean({
      default: false,
      description: 'Include replies (default false)',
      error: 'include_replies must be true or false',
    }),
  ),
  ...PageQuery,
})

export const UserPostsQuery = Query({
  include_replies: t.Optional(
    t.Boolean({
      default: true,
      description: 'Include replies (default true)',
      error: 'include_replies must be true or false',
    }),
  ),
  ...PageQuery,
})

export const PostContext = t.Object(
  {
    ancestors: t.Array(Post, {
      description: 'From the root of the thread down to the parent (at most 200, nearest kept)',
    }),
    descendants: t.Array(Post, {
      description: 'Replies and their replies, depth-first, oldest sibling first (at most 200)',
    }),
  },
  { title: 'PostContext' },
)

export const PostVersion = t.Object(
  {
    text: t.String(),
    created_at: t.String({ format: 'date-time', description: 'When this version was written' }),
  },
  { title: 'PostVersion', description: 'An earlier version of an edited post' },
)

export const PostVersionPage = pageOf(PostVersion, 'PostVersionPage')

export type PostWire = typeof Post.static
export type PostVersionWire = typeof PostVersion.static

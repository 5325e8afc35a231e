import { Elysia, t } from 'elysia'
import { PageOnlyQuery, paged } from '../../http/pagination'
import { notFound } from '../../http/problem'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import {
  CreatePostBody,
  FeedQuery,
  IdempotencyHeaders,
  Post,
  PostContext,
  PostPage,
  PostParams,
  PostVersionPage,
  UpdatePostBody,
} from './model'
import { post, postVersion } from './serializer'
import { type PostService, parseId } from './service'

export interface PostsModuleDeps {
  posts: PostService
  authPlugin: AuthPlugin
}

/** A post id from the path; one that cannot be a post id is simply not found. */
export function postId(raw: string): number {
  const id = parseId(raw)
  if (id === undefined) throw notFound('post')
  return id
}

export function postsModule({ posts, authPlugin }: PostsModuleDeps) {
  return new Elysia({ prefix: '/posts', detail: { tags: ['posts'] } })
    .use(models)
    .use(authPlugin)
    .post(
      '',
      async ({ viewer, body, headers, set }) => {
        const { row, replayed } = await posts.create(viewer, {
          text: body.text,
          replyToId: body.reply_to_id,
          idempotencyKey: headers['idempotency-key'],
        })
        set.status = 201
        if (replayed) set.headers['idempotent-replayed'] = 'true'
        return post(row)
      },
      {
        auth: true,
        body: CreatePostBody,
        headers: IdempotencyHeaders,
        response: { 201: Post, ...problems(400, 401, 403, 409, 413, 415, 422, 429) },
        detail: {
          summary: 'Create a post or a reply',
          description:
            'text is 1 to 500 characters (Unicode code points) after trimming. Replying to an unknown post is 422. ' +
            'With an Idempotency-Key header, a retry by the same user within 24 hours returns the first post ' +
            '(201, header Idempotent-Replayed: true) and creates nothing; the same key with a different body is 422; ' +
            'a key whose post has since been deleted is 409.',
        },
      },
    )
    .get(
      '',
      async (ctx) => paged(ctx, await posts.feed(ctx.query.include_replies ?? false, ctx.query, ctx.viewer?.id), post),
      {
        optionalAuth: true,
        query: FeedQuery,
        response: { 200: PostPage, ...problems(400, 401, 422) },
        detail: {
          summary: 'The global feed, newest first',
          description: 'Top-level posts only unless include_replies=true.',
        },
      },
    )
    .get('/:id', async ({ params, viewer }) => post(await posts.get(postId(params.id), viewer?.id)), {
      optionalAuth: true,
      params: PostParams,
      response: { 200: Post, ...problems(401, 404) },
      detail: { summary: 'A post' },
    })
    .get(
      '/:id/replies',
      async (ctx) => paged(ctx, await posts.replies(postId(ctx.params.id), ctx.query, ctx.viewer?.id), post),
      {
        optionalAuth: true,
        params: PostParams,
        query: PageOnlyQuery,
        response: { 200: PostPage, ...problems(400, 401, 404, 422) },
        detail: { summary: 'Direct replies to a post, oldest first' },
      },
    )
    .get(
      '/:id/context',
      async ({ params, viewer }) => {
        const { ancestors, descendants } = await posts.context(postId(params.id), viewer?.id)
        return { ancestors: ancestors.map(post), descendants: descendants.map(post) }
      },
      {
        optionalAuth: true,
        params: PostParams,
        response: { 200: PostContext, ...problems(401, 404) },
        detail: {
          summary: 'The thread around a post',
          description:
            'ancestors from the root down to the parent (the nearest 200); descendants depth-first, ' +
            'oldest sibling first, bounded to 200. The post itself is in neither.',
        },
      },
    )
    .get(
      '/:id/history',
      async (ctx) => paged(ctx, await posts.history(postId(ctx.params.id), ctx.query), postVersion),
      {
        params: PostParams,
        query: PageOnlyQuery,
        response: { 200: PostVersionPage, ...problems(400, 404, 422) },
        detail: {
          summary: 'Earlier versions of an edited post, oldest first',
          description: 'Each version is the text as it was before an edit, with when it was written.',
        },
      },
    )
    .patch('/:id', async ({ params, body, viewer }) => post(await posts.update(viewer, postId(params.id), body.text)), {
      auth: true,
      params: PostParams,
      body: UpdatePostBody,
      response: { 200: Post, ...problems(400, 401, 403, 404, 413, 415, 422, 429) },
      detail: {
        summary: 'Edit your post',
        description: 'Author only (403 otherwise). Sets edited_at; the previous text is kept in the history.',
      },
    })
    .delete(
      '/:id',
      async ({ params, viewer, set }) => {
        await posts.delete(viewer, postId(params.id))
        set.status = 204
      },
      {
        auth: true,
        params: PostParams,
        response: { 204: t.Void(), ...problems(401, 403, 404, 429) },
        detail: {
          summary: 'Delete a post',
          description: 'The author or an admin (403 otherwise). Replies stay, and their reply_to_id still names it.',
        },
      },
    )
}

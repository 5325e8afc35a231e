import { Elysia } from 'elysia'
import { PageOnlyQuery, paged } from '../../http/pagination'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { postId } from '../posts'
import { PostPage, PostParams } from '../posts/model'
import { post } from '../posts/serializer'
import { PublicUserPage, UsernameParams } from '../users/model'
import { listedUser } from '../users/serializer'
import { LikeResult } from './model'
import { likeResult } from './serializer'
import type { LikeService } from './service'

export function likesModule({ likes, authPlugin }: { likes: LikeService; authPlugin: AuthPlugin }) {
  return new Elysia({ detail: { tags: ['posts'] } })
    .use(models)
    .use(authPlugin)
    .put('/posts/:id/like', async ({ params, viewer }) => likeResult(await likes.like(viewer, postId(params.id))), {
      auth: true,
      params: PostParams,
      response: { 200: LikeResult, ...problems(401, 404, 429) },
      detail: { summary: 'Like a post (idempotent)' },
    })
    .delete(
      '/posts/:id/like',
      async ({ params, viewer }) => likeResult(await likes.unlike(viewer, postId(params.id))),
      {
        auth: true,
        params: PostParams,
        response: { 200: LikeResult, ...problems(401, 404, 429) },
        detail: { summary: 'Unlike a post (idempotent)' },
      },
    )
    .get(
      '/posts/:id/likes',
      async (ctx) => paged(ctx, await likes.likers(postId(ctx.params.id), ctx.query, ctx.viewer?.id), listedUser),
      {
        optionalAuth: true,
        params: PostParams,
        query: PageOnlyQuery,
        response: { 200: PublicUserPage, ...problems(400, 401, 404, 422) },
        detail: { summary: 'Who liked a post, most recent like first' },
      },
    )
    .get(
      '/users/:username/likes',
      async (ctx) => paged(ctx, await likes.likedBy(ctx.params.username, ctx.query, ctx.viewer?.id), post),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: PostPage, ...problems(400, 401, 404, 422) },
        detail: { summary: 'The posts a user liked, most recent like first', tags: ['users'] },
      },
    )
}

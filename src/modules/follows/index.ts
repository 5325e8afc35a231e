import { Elysia } from 'elysia'
import { PageOnlyQuery, paged } from '../../http/pagination'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { PublicUserPage, UsernameParams } from '../users/model'
import { listedUser } from '../users/serializer'
import { FollowResult } from './model'
import { followResult } from './serializer'
import type { FollowService } from './service'

export function followsModule({ follows, authPlugin }: { follows: FollowService; authPlugin: AuthPlugin }) {
  return new Elysia({ prefix: '/users', detail: { tags: ['users'] } })
    .use(models)
    .use(authPlugin)
    .get(
      '/:username/followers',
      async (ctx) =>
        paged(ctx, await follows.list('followers', ctx.params.username, ctx.query, ctx.viewer?.id), listedUser),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: PublicUserPage, ...problems(400, 401, 404, 422) },
        detail: { summary: 'Who follows a user, most recent follow first' },
      },
    )
    .get(
      '/:username/following',
      async (ctx) =>
        paged(ctx, await follows.list('following', ctx.params.username, ctx.query, ctx.viewer?.id), listedUser),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: PublicUserPage, ...problems(400, 401, 404, 422) },
        detail: { summary: 'Whom a user follows, most recent follow first' },
      },
    )
    .put(
      '/:username/follow',
      async ({ params, viewer }) => followResult(await follows.follow(viewer, params.username)),
      {
        auth: true,
        params: UsernameParams,
        response: { 200: FollowResult, ...problems(401, 403, 404, 422, 429) },
        detail: { summary: 'Follow a user (idempotent; yourself is 422)' },
      },
    )
    .delete(
      '/:username/follow',
      async ({ params, viewer }) => followResult(await follows.unfollow(viewer, params.username)),
      {
        auth: true,
        params: UsernameParams,
        response: { 200: FollowResult, ...problems(401, 403, 404, 429) },
        detail: { summary: 'Unfollow a user (idempotent)' },
      },
    )
}

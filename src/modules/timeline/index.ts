import { Elysia } from 'elysia'
import { PageOnlyQuery, paged } from '../../http/pagination'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { PostPage } from '../posts/model'
import { post } from '../posts/serializer'
import type { TimelineService } from './service'

export function timelineModule({ timeline, authPlugin }: { timeline: TimelineService; authPlugin: AuthPlugin }) {
  return new Elysia({ prefix: '/timeline', detail: { tags: ['posts'] } })
    .use(models)
    .use(authPlugin)
    .get('', async (ctx) => paged(ctx, await timeline.home(ctx.viewer.id, ctx.query), post), {
      auth: true,
      query: PageOnlyQuery,
      response: { 200: PostPage, ...problems(400, 401, 403, 422) },
      detail: {
        summary: 'Your home timeline',
        description:
          'Your posts and those of the people you follow (replies included), newest first. ' +
          'Your own posts appear at once, as do most others. A post by an account with many ' +
          'followers, or the earlier posts of an account with many posts that you just followed, ' +
          'arrive within moments, in the background; so do removals after a deletion or an unfollow.',
      },
    })
}

import { Elysia, t } from 'elysia'
import { paged } from '../../http/pagination'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { PostPage, UserPostsQuery } from '../posts/model'
import { post } from '../posts/serializer'
import type { PostService } from '../posts/service'
import {
  DeleteMeBody,
  PrivateUser,
  PublicUser,
  PublicUserPage,
  SearchQuery,
  UpdateMeBody,
  UsernameParams,
} from './model'
import { privateUser, publicUser } from './serializer'
import type { UserService } from './service'

export interface UsersModuleDeps {
  users: UserService
  posts: PostService
  authPlugin: AuthPlugin
}

export function usersModule({ users, posts, authPlugin }: UsersModuleDeps) {
  return new Elysia({ prefix: '/users', detail: { tags: ['users'] } })
    .use(models)
    .use(authPlugin)
    .get('/me', async ({ viewer }) => privateUser(await users.get(viewer.id)), {
      auth: true,
      response: { 200: PrivateUser, ...problems(401, 403) },
      detail: { summary: 'Your own account' },
    })
    .patch(
      '/me',
      async ({ viewer, body }) =>
        privateUser(
          await users.updateProfile(viewer.id, {
            displayName: body.display_name,
            bio: body.bio,
            avatarUrl: body.avatar_url,
          }),
        ),
      {
        auth: true,
        body: UpdateMeBody,
        response: { 200: PrivateUser, ...problems(400, 401, 403, 413, 415, 422, 429) },
        detail: {
          summary: 'Update your profile',
          description: 'Only display_name, bio and avatar_url; any other field is 422 and nothing changes.',
        },
      },
    )
    .delete(
      '/me',
      async ({ viewer, body, set }) => {
        await users.deleteAccount(viewer.id, body.password)
        set.status = 204
      },
      {
        auth: true,
        body: DeleteMeBody,
        response: { 204: t.Void(), ...problems(400, 401, 403, 413, 415, 422, 429) },
        detail: {
          summary: 'Delete your account',
          description: 'Confirms with the password; the account, its posts, likes, follows and sessions are gone.',
        },
      },
    )
    .get(
      '',
      async (ctx) =>
        paged(ctx, await users.search(ctx.query.q?.trim() || undefined, ctx.query, ctx.viewer?.id), (u) =>
          publicUser(u, u.relation),
        ),
      {
        optionalAuth: true,
        query: SearchQuery,
        response: { 200: PublicUserPage, ...problems(400, 401, 422) },
        detail: {
          summary: 'Search users',
          description: '`q` matches the start of a username or display name, ignoring case; ordered by username.',
        },
      },
    )
    .get(
      '/:username',
      async ({ params, viewer }) => {
        const user = await users.byUsername(params.username, viewer?.id)
        return publicUser(user, user.relation)
      },
      {
        optionalAuth: true,
        params: UsernameParams,
        response: { 200: PublicUser, ...problems(401, 404) },
        detail: { summary: 'A public profile (404 if unknown or disabled)' },
      },
    )
    .get(
      '/:username/posts',
      async (ctx) =>
        paged(
          ctx,
          await posts.byAuthor(ctx.params.username, ctx.query.include_replies ?? true, ctx.query, ctx.viewer?.id),
          post,
        ),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: UserPostsQuery,
        response: { 200: PostPage, ...problems(400, 401, 404, 422) },
        detail: {
          summary: "A user's posts, newest first",
          description: 'Replies included unless include_replies=false.',
        },
      },
    )
}

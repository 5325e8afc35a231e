import { Elysia, t } from 'elysia'
import { decodeCursor, PageQuery, pageOf, pageResponse, paginate, setLinkHeader } from '../../http/pagination'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { FollowResult } from '../follows/model'
import type { FollowService } from '../follows/service'
import { PageOnlyQuery, Post, UserPostsQuery } from '../posts/model'
import { LIST_CURSOR, postFromRow } from '../posts/serializer'
import type { PostService } from '../posts/service'
import { DeleteMeBody, PrivateUser, PublicUser, SearchQuery, UpdateMeBody, UsernameParams } from './model'
import { privateUser, publicUser } from './serializer'
import type { UserService } from './service'

export interface UsersModuleDeps {
  users: UserService
  posts: PostService
  follows: FollowService
  authPlugin: AuthPlugin
}

/** One page of a user's followers or followings, most recent follow first. */
async function followPage(
  follows: FollowService,
  direction: 'followers' | 'following',
  username: string,
  query: { limit?: number; cursor?: string },
  viewerId: number | undefined,
  request: Request,
  set: { headers: Record<string, unknown> },
) {
  const [before] = decodeCursor(direction, query.cursor, ['int'] as const) ?? []
  const limit = query.limit ?? 20
  const rows = await follows[direction](username, before, limit, viewerId)
  const page = paginate(
    rows,
    limit,
    direction,
    (r) => [r.followId],
    (r) => publicUser(r.user, r.user.relation),
  )
  setLinkHeader(set, request, page)
  return page
}

export function usersModule({ users, posts, follows, authPlugin }: UsersModuleDeps) {
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
      '/',
      async ({ query, viewer, request, set }) => {
        const [after] = decodeCursor('users', query.cursor, ['string'] as const) ?? []
        const limit = query.limit ?? 20
        const rows = await users.search(query.q?.trim() || undefined, after, limit, viewer?.id)
        const page = paginate(
          rows,
          limit,
          'users',
          (u) => [u.username.toLowerCase()],
          (u) => publicUser(u, u.relation),
        )
        setLinkHeader(set, request, page)
        return page
      },
      {
        optionalAuth: true,
        query: t.Object({ ...SearchQuery.properties, ...PageQuery }),
        response: { 200: pageOf(PublicUser, 'PublicUserPage'), ...problems(400, 401, 422) },
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
      async ({ params, query, viewer, request, set }) => {
        const [before] = decodeCursor('user-posts', query.cursor, ['int'] as const) ?? []
        const limit = query.limit ?? 20
        const rows = await posts.byAuthor(params.username, query.include_replies ?? true, before, limit, viewer?.id)
        return pageResponse(rows, limit, 'user-posts', (r) => [Number(r[LIST_CURSOR])], postFromRow, set, request)
      },
      {
        optionalAuth: true,
        params: UsernameParams,
        query: UserPostsQuery,
        response: { 200: pageOf(Post, 'PostPage'), ...problems(400, 401, 404, 422) },
        detail: {
          summary: "A user's posts, newest first",
          description: 'Replies included unless include_replies=false.',
        },
      },
    )
    .get(
      '/:username/likes',
      async ({ params, query, viewer, request, set }) => {
        const [before] = decodeCursor('user-likes', query.cursor, ['int'] as const) ?? []
        const limit = query.limit ?? 20
        const rows = await posts.likedBy(params.username, before, limit, viewer?.id)
        return pageResponse(rows, limit, 'user-likes', (r) => [Number(r[LIST_CURSOR])], postFromRow, set, request)
      },
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: pageOf(Post, 'PostPage'), ...problems(400, 401, 404, 422) },
        detail: { summary: 'The posts a user liked, most recent like first' },
      },
    )
    .get(
      '/:username/followers',
      ({ params, query, viewer, request, set }) =>
        followPage(follows, 'followers', params.username, query, viewer?.id, request, set),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: pageOf(PublicUser, 'PublicUserPage'), ...problems(400, 401, 404, 422) },
        detail: { summary: 'Who follows a user, most recent follow first' },
      },
    )
    .get(
      '/:username/following',
      ({ params, query, viewer, request, set }) =>
        followPage(follows, 'following', params.username, query, viewer?.id, request, set),
      {
        optionalAuth: true,
        params: UsernameParams,
        query: PageOnlyQuery,
        response: { 200: pageOf(PublicUser, 'PublicUserPage'), ...problems(400, 401, 404, 422) },
        detail: { summary: 'Whom a user follows, most recent follow first' },
      },
    )
    .put(
      '/:username/follow',
      async ({ params, viewer }) => {
        const { following, followersCount } = await follows.follow(viewer, params.username)
        return { following, followers_count: followersCount }
      },
      {
        auth: true,
        params: UsernameParams,
        response: { 200: FollowResult, ...problems(401, 403, 404, 422, 429) },
        detail: { summary: 'Follow a user (idempotent; yourself is 422)' },
      },
    )
    .delete(
      '/:username/follow',
      async ({ params, viewer }) => {
        const { following, followersCount } = await follows.unfollow(viewer, params.username)
        return { following, followers_count: followersCount }
      },
      {
        auth: true,
        params: UsernameParams,
        response: { 200: FollowResult, ...problems(401, 403, 404, 429) },
        detail: { summary: 'Unfollow a user (idempotent)' },
      },
    )
}

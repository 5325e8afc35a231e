import { Elysia } from 'elysia'
import { paged } from '../../http/pagination'
import { forbidden } from '../../http/problem'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { PrivateUser, PrivateUserPage, SearchQuery, UsernameParams } from '../users/model'
import { privateUser } from '../users/serializer'
import type { UserService } from '../users/service'
import { AdminUserPatch } from './model'
import { canChangeUser, isAdmin } from './policy'

export function adminModule({ users, authPlugin }: { users: UserService; authPlugin: AuthPlugin }) {
  return new Elysia({ prefix: '/admin', detail: { tags: ['admin'] } })
    .use(models)
    .use(authPlugin)
    .guard({ auth: true }, (app) =>
      app
        .onBeforeHandle(({ viewer }) => {
          if (!isAdmin(viewer)) throw forbidden('Only administrators may do this')
        })
        .get(
          '/users',
          async (ctx) =>
            paged(ctx, await users.adminList(ctx.query.q?.trim() || undefined, ctx.query), (u) => privateUser(u)),
          {
            query: SearchQuery,
            response: { 200: PrivateUserPage, ...problems(400, 401, 403, 422) },
            detail: {
              summary: 'Every user, disabled ones too',
              description: '`q` matches the start of a username, display name or email, ignoring case.',
            },
          },
        )
        .patch(
          '/users/:username',
          async ({ params, body, viewer }) => {
            if (!canChangeUser(viewer, params.username, body))
              throw forbidden('Administrators cannot disable or demote themselves')
            return privateUser(await users.adminUpdate(params.username, body))
          },
          {
            params: UsernameParams,
            body: AdminUserPatch,
            response: { 200: PrivateUser, ...problems(400, 401, 403, 404, 413, 415, 422) },
            detail: {
              summary: "Change a user's role or disable them",
              description: 'Disabling ends every session of the user at once.',
            },
          },
        ),
    )
}

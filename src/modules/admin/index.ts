import { Elysia, t } from 'elysia'
import { decodeCursor, PageQuery, pageOf, paginate, setLinkHeader } from '../../http/pagination'
import { forbidden } from '../../http/problem'
import { models, problems } from '../../http/schemas'
import type { AuthPlugin } from '../auth/plugin'
import { PrivateUser, SearchQuery, UsernameParams } from '../users/model'
import { privateUser } from '../users/serializer'
import type { UserService } from '../users/service'

export const AdminUserPatch = t.Object(
  {
    role: t.Optional(t.Union([t.Literal('user'), t.Literal('admin')], { error: 'role must be user or admin' })),
    disabled: t.Optional(t.Boolean({ error: 'disabled must be true or false' })),
  },
  { additionalProperties: false },
)

export function adminModule({ users, authPlugin }: { users: UserService; authPlugin: AuthPlugin }) {
  return new Elysia({ prefix: '/admin', detail: { tags: ['admin'] } })
    .use(models)
    .use(authPlugin)
    .guard({ auth: true }, (app) =>
      app
        .onBeforeHandle(({ viewer }) => {
          if (viewer.role !== 'admin') throw forbidden('Only administrators may do this')
        })
        .get(
          '/users',
          async ({ query, request, set }) => {
            const [after] = decodeCursor('admin-users', query.cursor, ['string'] as const) ?? []
            const limit = query.limit ?? 20
            const rows = await users.adminList(query.q?.trim() || undefined, after, limit)
            const page = paginate(
              rows,
              limit,
              'admin-users',
              (u) => [u.username.toLowerCase()],
              (u) => privateUser(u),
            )
            setLinkHeader(set, request, page)
            return page
          },
          {
            query: t.Object({ ...SearchQuery.properties, ...PageQuery }),
            response: { 200: pageOf(PrivateUser, 'PrivateUserPage'), ...problems(400, 401, 403, 422) },
            detail: {
              summary: 'Every user, disabled ones too',
              description: '`q` matches the start of a username, display name or email, ignoring case.',
            },
          },
        )
        .patch(
          '/users/:username',
          async ({ params, body, viewer }) => {
            if (
              params.username.toLowerCase() === viewer.username.toLowerCase() &&
              (body.disabled || body.role === 'user')
            )
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

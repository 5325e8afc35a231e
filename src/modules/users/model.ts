import { t } from 'elysia'
import { PageQuery, pageOf } from '../../http/pagination'
import { chars, Query } from '../../http/params'

const id = t.String({ description: 'Opaque identifier', examples: ['42'] })
const timestamp = t.String({ format: 'date-time', examples: ['2026-11-23T03:00:00.000Z'] })

export const UserSummary = t.Object(
  {
    id,
    username: t.String(),
    display_name: t.String(),
    avatar_url: t.Union([t.String(), t.Null()]),
  },
  { title: 'UserSummary' },
)

const publicFields = {
  ...UserSummary.properties,
  bio: t.String(),
  created_at: timestamp,
  followers_count: t.Integer(),
  following_count: t.Integer(),
  posts_count: t.Integer(),
  followed_by_me: t.Optional(t.Boolean({ description: 'Present when the caller is authenticated' })),
  follows_me: t.Optional(t.Boolean({ description: 'Present when the caller is authenticated' })),
}

export const PublicUser = t.Object(publicFields, { title: 'PublicUser' })

export const PublicUserPage = pageOf(PublicUser, 'PublicUserPage')

export const PrivateUser = t.Object(
  {
    ...publicFields,
    email: t.String({ format: 'email' }),
    email_verified: t.Boolean(),
    role: t.Union([t.Literal('user'), t.Literal('admin')]),
    disabled: t.Boolean(),
  },
  { title: 'PrivateUser', description: 'Only for the user themselves and for admins' },
)

export const PrivateUserPage = pageOf(PrivateUser, 'PrivateUserPage')

export const displayName = chars({ maxLength: 50, error: 'display_name must be at most 50 characters' })

export const username = chars({
  minLength: 3,
  maxLength: 30,
  pattern: '^[a-z0-9_]{3,30}$',
  error: 'username must be 3 to 30 characters of a-z, 0-9 and _',
  examples: ['alice'],
})

// No length bound: a name or id no resource has is simply 404, however long.
export const UsernameParams = t.Object({ username: t.String() })

export const UpdateMeBody = t.Object(
  {
    display_name: t.Optional(displayName),
    bio: t.Optional(chars({ maxLength: 300, error: 'bio must be at most 300 characters' })),
    avatar_url: t.Optional(
      t.Union(
        [
          chars({
            maxLength: 2048,
            pattern: '^https?://[^\\s]+$',
            error: 'avatar_url must be an http(s) URL of at most 2048 characters',
          }),
          t.Null(),
        ],
        { error: 'avatar_url must be an http(s) URL of at most 2048 characters, or null' },
      ),
    ),
  },
  { additionalProperties: false },
)

export const DeleteMeBody = t.Object(
  { password: chars({ minLength: 1, maxLength: 128, error: 'password is required' }) },
  { additionalProperties: false },
)

export const SearchQuery = Query({
  q: t.Optional(chars({ maxLength: 100, error: 'q must be at most 100 characters' })),
  ...PageQuery,
})

export type UserSummaryWire = typeof UserSummary.static
export type PublicUserWire = typeof PublicUser.static
export type PrivateUserWire = typeof PrivateUser.static

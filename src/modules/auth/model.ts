import { t } from 'elysia'
import { chars } from '../../http/params'
import { displayName, PrivateUser, username } from '../users/model'

const password = chars({
  minLength: 8,
  maxLength: 128,
  error: 'password must be 8 to 128 characters',
})

export const email = chars({
  maxLength: 254,
  pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
  // The format PrivateUser's `email` is checked against on the way out: an address accepted
  // here but failing there made registration answer 500 after creating the account.
  format: 'email',
  error: 'email must be a valid address of at most 254 characters',
  examples: ['alice@example.com'],
})

export const RegisterBody = t.Object(
  {
    username,
    email,
    password,
    display_name: t.Optional(displayName),
  },
  { additionalProperties: false },
)

const tokenFields = {
  access_token: t.String(),
  token_type: t.Literal('Bearer'),
  expires_in: t.Integer({ description: 'Seconds until the access token expires' }),
  refresh_token: t.String(),
}

export const TokenPair = t.Object(tokenFields, { title: 'TokenPair' })
export const RegisterResponse = t.Object({ user: PrivateUser, ...tokenFields }, { title: 'Registration' })

/**
 * OAuth 2.0 token request (RFC 6749 §4.3 and §6), as a form or JSON. Its fields are checked
 * in the handler so every mistake gets OAuth's `error` code besides the problem fields.
 */
export const TokenBody = t.Object(
  {
    grant_type: t.Optional(
      chars({
        maxLength: 64,
        examples: ['password', 'refresh_token'],
        error: 'grant_type must be at most 64 characters',
      }),
    ),
    username: t.Optional(
      chars({
        maxLength: 254,
        description: 'Username or email (password grant)',
        error: 'username must be at most 254 characters',
      }),
    ),
    password: t.Optional(chars({ maxLength: 128, error: 'password must be at most 128 characters' })),
    refresh_token: t.Optional(chars({ maxLength: 4096, error: 'refresh_token must be at most 4096 characters' })),
    scope: t.Optional(
      chars({ maxLength: 256, description: 'Accepted and ignored', error: 'scope must be at most 256 characters' }),
    ),
    client_id: t.Optional(
      chars({ maxLength: 256, description: 'Accepted and ignored', error: 'client_id must be at most 256 characters' }),
    ),
  },
  { additionalProperties: false },
)

export const RefreshBody = t.Object(
  { refresh_token: chars({ minLength: 1, maxLength: 4096, error: 'refresh_token is required' }) },
  { additionalProperties: false },
)

export const PasswordBody = t.Object(
  {
    current_password: chars({ minLength: 1, maxLength: 128, error: 'current_password is required' }),
    new_password: password,
  },
  { additionalProperties: false },
)

export const Session = t.Object(
  {
    id: t.String(),
    created_at: t.String({ format: 'date-time' }),
    last_used_at: t.String({ format: 'date-time', description: 'Last sign-in or token refresh' }),
    user_agent: t.Union([t.String(), t.Null()]),
    current: t.Boolean(),
  },
  { title: 'Session' },
)

export const SessionList = t.Object(
  { items: t.Array(Session), next_cursor: t.Null() },
  { title: 'SessionList', description: 'Every live session in one page' },
)

export const SessionParams = t.Object({ id: t.String() })

export const Accepted = t.Object({ message: t.String() }, { title: 'Accepted' })

const mailedToken = chars({ minLength: 1, maxLength: 256, error: 'token is required' })

export const TokenOnlyBody = t.Object({ token: mailedToken }, { additionalProperties: false })

export const ResetRequestBody = t.Object({ email }, { additionalProperties: false })

export const ResetBody = t.Object({ token: mailedToken, new_password: password }, { additionalProperties: false })

export type SessionWire = typeof Session.static
export type SessionListWire = typeof SessionList.static

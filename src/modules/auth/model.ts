import { t } from 'elysia'
import { PrivateUser, username } from '../users/model'

const password = t.String({
  minLength: 8,
  maxLength: 128,
  error: 'password must be 8 to 128 characters',
})

export const email = t.String({
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
    display_name: t.Optional(t.String({ maxLength: 50, error: 'display_name must be at most 50 characters' })),
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
    grant_type: t.Optional(t.String({ maxLength: 64, examples: ['password', 'refresh_token'] })),
    username: t.Optional(t.String({ maxLength: 254, description: 'Username or email (password grant)' })),
    password: t.Optional(t.String({ maxLength: 128 })),
    refresh_token: t.Optional(t.String({ maxLength: 4096 })),
    scope: t.Optional(t.String({ maxLength: 256, description: 'Accepted and ignored' })),
    client_id: t.Optional(t.String({ maxLength: 256, description: 'Accepted and ignored' })),
  },
  { additionalProperties: false },
)

export const RefreshBody = t.Object(
  { refresh_token: t.String({ minLength: 1, maxLength: 4096, error: 'refresh_token is required' }) },
  { additionalProperties: false },
)

export const PasswordBody = t.Object(
  {
    current_password: t.String({ minLength: 1, maxLength: 128, error: 'current_password is required' }),
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

export const SessionParams = t.Object({ id: t.String() })

export const Accepted = t.Object({ message: t.String() }, { title: 'Accepted' })

export const TokenOnlyBody = t.Object(
  { token: t.String({ minLength: 1, maxLength: 256, error: 'token is required' }) },
  { additionalProperties: false },
)

export const ResetRequestBody = t.Object({ email }, { additionalProperties: false })

export const ResetBody = t.Object(
  { token: t.String({ minLength: 1, maxLength: 256, error: 'token is required' }), new_password: password },
  { additionalProperties: false },
)

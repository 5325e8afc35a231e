import { Elysia, t } from 'elysia'
import { iso } from '../../http/iso'
import { HttpError, unprocessable } from '../../http/problem'
import { clientIp, type RateLimit } from '../../http/rate-limit'
import { models, problems } from '../../http/schemas'
import { PrivateUser } from '../users/model'
import { privateUser } from '../users/serializer'
import type { AccountMailService } from './account-mail'
import {
  Accepted,
  PasswordBody,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ResetBody,
  ResetRequestBody,
  Session,
  SessionParams,
  TokenBody,
  TokenOnlyBody,
  TokenPair,
} from './model'
import type { AuthPlugin } from './plugin'
import type { AuthService } from './service'

export interface AuthModuleDeps {
  auth: AuthService
  accountMail: AccountMailService
  authPlugin: AuthPlugin
  /** AUTH_RATE_LIMIT: attempts per minute per client IP and per account. */
  attempts: RateLimit
  trustProxy: boolean
}

const invalidRequest = (field: string, message: string) =>
  new HttpError(400, 'validation_failed', `${field} ${message}`, {
    errors: [{ field, message }],
    extra: { error: 'invalid_request' },
  })

const userAgentOf = (request: Request) => request.headers.get('user-agent')?.slice(0, 512) ?? null

export function authModule({ auth, accountMail, authPlugin, attempts, trustProxy }: AuthModuleDeps) {
  const limit = (request: Request, server: Parameters<typeof clientIp>[1], account?: string) =>
    attempts.consume(
      `ip:${clientIp(request, server, trustProxy)}`,
      ...(account ? [`account:${account.toLowerCase()}`] : []),
    )

  return new Elysia({ prefix: '/auth', detail: { tags: ['auth'] } })
    .use(models)
    .use(authPlugin)
    .post(
      '/register',
      async ({ body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server, body.username))
        const { user, ...tokens } = await auth.register(
          { username: body.username, email: body.email, password: body.password, displayName: body.display_name },
          userAgentOf(request),
        )
        set.status = 201
        return { user: privateUser(user), ...tokens }
      },
      {
        body: RegisterBody,
        response: { 201: RegisterResponse, ...problems(400, 409, 413, 415, 422, 429) },
        detail: {
          summary: 'Create an account and sign in',
          description: 'Usernames and emails are unique ignoring case. Rate-limited per client IP and per username.',
        },
      },
    )
    .post(
      '/token',
      async ({ body, request, server, set }) => {
        const grant = body.grant_type
        if (!grant) throw invalidRequest('grant_type', 'is required')
        if (grant === 'password') {
          if (!body.username) throw invalidRequest('username', 'is required')
          if (!body.password) throw invalidRequest('password', 'is required')
          Object.assign(set.headers, await limit(request, server, body.username))
          return auth.login(body.username, body.password, userAgentOf(request))
        }
        if (grant === 'refresh_token') {
          if (!body.refresh_token) throw invalidRequest('refresh_token', 'is required')
          Object.assign(set.headers, await limit(request, server))
          return auth.refresh(body.refresh_token)
        }
        throw new HttpError(400, 'validation_failed', 'grant_type must be password or refresh_token', {
          errors: [{ field: 'grant_type', message: 'must be password or refresh_token' }],
          extra: { error: 'unsupported_grant_type' },
        })
      },
      {
        body: TokenBody,
        response: { 200: TokenPair, ...problems(400, 401, 403, 413, 415, 422, 429) },
        detail: {
          summary: 'OAuth 2.0 token endpoint (password and refresh_token grants)',
          description:
            'Takes application/x-www-form-urlencoded or JSON. `username` is a username or an email. ' +
            "Errors carry OAuth's `error` member: invalid_request and unsupported_grant_type (400), " +
            'invalid_grant (401 for bad credentials or a bad refresh token; 403 account_disabled). ' +
            'Bad credentials get the same body whether or not the account exists.',
        },
      },
    )
    .post(
      '/refresh',
      async ({ body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server))
        return auth.refresh(body.refresh_token)
      },
      {
        body: RefreshBody,
        response: { 200: TokenPair, ...problems(400, 401, 413, 415, 422, 429) },
        detail: {
          summary: 'Rotate a refresh token',
          description:
            'Returns a new pair; the presented refresh token stops working. Presenting an already-rotated ' +
            'refresh token ends that whole session (reuse detection) and answers 401.',
        },
      },
    )
    .post(
      '/logout',
      async ({ viewer, set }) => {
        await auth.logout(viewer)
        set.status = 204
      },
      {
        auth: true,
        response: { 204: t.Void(), ...problems(401, 403) },
        detail: { summary: 'End the current session (its access and refresh tokens stop working at once)' },
      },
    )
    .post(
      '/logout-all',
      async ({ viewer, set }) => {
        await auth.endSessions(viewer.id)
        set.status = 204
      },
      {
        auth: true,
        response: { 204: t.Void(), ...problems(401, 403) },
        detail: { summary: 'End every session of the user' },
      },
    )
    .get(
      '/sessions',
      async ({ viewer }) => {
        const rows = await auth.listSessions(viewer)
        return {
          items: rows.map((s) => ({
            id: s.id,
            created_at: iso(s.createdAt),
            last_used_at: iso(s.lastUsedAt),
            user_agent: s.userAgent,
            current: s.id === viewer.sessionId,
          })),
          next_cursor: null,
        }
      },
      {
        auth: true,
        response: { 200: t.Object({ items: t.Array(Session), next_cursor: t.Null() }), ...problems(401, 403) },
        detail: {
          summary: "The user's live sessions",
          description: 'Every live session in one page, most recently used first (next_cursor is always null).',
        },
      },
    )
    .delete(
      '/sessions/:id',
      async ({ viewer, params, set }) => {
        await auth.endSession(viewer, params.id)
        set.status = 204
      },
      {
        auth: true,
        params: SessionParams,
        response: { 204: t.Void(), ...problems(401, 403, 404) },
        detail: { summary: 'End one of your sessions' },
      },
    )
    .post(
      '/password',
      async ({ viewer, body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server, viewer.username))
        if (body.current_password === body.new_password)
          throw unprocessable('new_password', 'must differ from current_password')
        await auth.changePassword(viewer, body.current_password, body.new_password)
        set.status = 204
      },
      {
        auth: true,
        body: PasswordBody,
        response: { 204: t.Void(), ...problems(400, 401, 403, 413, 415, 422, 429) },
        detail: { summary: 'Change the password; every other session ends' },
      },
    )
    .post(
      '/verify-email/request',
      async ({ viewer, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server, viewer.username))
        await accountMail.requestVerification(viewer.id)
        set.status = 202
        return { message: 'A verification link is on its way to your email address.' }
      },
      {
        auth: true,
        response: { 202: Accepted, ...problems(401, 403, 409, 429) },
        detail: {
          summary: 'Mail a verification link',
          description:
            'Mails a single-use link (valid 24 h by default) to the current address; 409 when it is already verified.',
        },
      },
    )
    .post(
      '/verify-email',
      async ({ body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server))
        return privateUser(await accountMail.verifyEmail(body.token))
      },
      {
        body: TokenOnlyBody,
        response: { 200: PrivateUser, ...problems(400, 413, 415, 422, 429) },
        detail: {
          summary: 'Verify an email address with the mailed token',
          description: 'A used, expired or unknown token is 422 with errors[0].field = "token".',
        },
      },
    )
    .post(
      '/password-reset/request',
      async ({ body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server, body.email))
        await accountMail.requestReset(body.email)
        set.status = 202
        return { message: 'If the address belongs to an account, a reset link is on its way.' }
      },
      {
        body: ResetRequestBody,
        response: { 202: Accepted, ...problems(400, 413, 415, 422, 429) },
        detail: {
          summary: 'Mail a password reset link',
          description: 'Always 202 with the same body, whether or not the address is known (nothing is sent then).',
        },
      },
    )
    .post(
      '/password-reset',
      async ({ body, request, server, set }) => {
        Object.assign(set.headers, await limit(request, server))
        await accountMail.resetPassword(body.token, body.new_password)
        set.status = 204
      },
      {
        body: ResetBody,
        response: { 204: t.Void(), ...problems(400, 413, 415, 422, 429) },
        detail: {
          summary: 'Set a new password with the mailed token',
          description:
            'The token works once and expires (30 min by default). Every session of the user ends. ' +
            'A used, expired or unknown token is 422 with errors[0].field = "token".',
        },
      },
    )
}

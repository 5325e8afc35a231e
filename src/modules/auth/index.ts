import { Elysia, t } from 'elysia'
import { HttpError, unprocessable } from '../../http/problem'
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
  SessionList,
  SessionParams,
  TokenBody,
  TokenOnlyBody,
  TokenPair,
} from './model'
import type { AuthPlugin } from './plugin'
import { sessionList } from './serializer'
import type { AuthService } from './service'

export interface AuthModuleDeps {
  auth: AuthService
  accountMail: AccountMailService
  authPlugin: AuthPlugin
}

const invalidRequest = (field: string, message: string) =>
  new HttpError(400, 'validation_failed', `${field} ${message}`, {
    errors: [{ field, message }],
    extra: { error: 'invalid_request' },
  })

const userAgentOf = (request: Request) => request.headers.get('user-agent')?.slice(0, 512) ?? null

export function authModule({ auth, accountMail, authPlugin }: AuthModuleDeps) {
  return new Elysia({ prefix: '/auth', detail: { tags: ['auth'] } })
    .use(models)
    .use(authPlugin)
    .post(
      '/register',
      async ({ body, request, set }) => {
        const { user, ...tokens } = await auth.register(
          { username: body.username, email: body.email, password: body.password, displayName: body.display_name },
          userAgentOf(request),
        )
        set.status = 201
        return { user: privateUser(user), ...tokens }
      },
      {
        rateLimit: 'auth:username',
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
      async ({ body, request }) => {
        const grant = body.grant_type
        if (!grant) throw invalidRequest('grant_type', 'is required')
        if (grant === 'password') {
          if (!body.username) throw invalidRequest('username', 'is required')
          if (!body.password) throw invalidRequest('password', 'is required')
          return auth.login(body.username, body.password, userAgentOf(request))
        }
        if (grant === 'refresh_token') {
          if (!body.refresh_token) throw invalidRequest('refresh_token', 'is required')
          return auth.refresh(body.refresh_token)
        }
        throw new HttpError(400, 'validation_failed', 'grant_type must be password or refresh_token', {
          errors: [{ field: 'grant_type', message: 'must be password or refresh_token' }],
          extra: { error: 'unsupported_grant_type' },
        })
      },
      {
        rateLimit: 'auth:username',
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
    .post('/refresh', ({ body }) => auth.refresh(body.refresh_token), {
      rateLimit: 'auth',
      body: RefreshBody,
      response: { 200: TokenPair, ...problems(400, 401, 413, 415, 422, 429) },
      detail: {
        summary: 'Rotate a refresh token',
        description:
          'Returns a new pair; the presented refresh token stops working. Presenting an already-rotated ' +
          'refresh token ends that whole session (reuse detection) and answers 401.',
      },
    })
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
    .get('/sessions', async ({ viewer }) => sessionList(await auth.listSessions(viewer), viewer), {
      auth: true,
      response: { 200: SessionList, ...problems(401, 403) },
      detail: {
        summary: "The user's live sessions",
        description: 'Every live session in one page, most recently used first (next_cursor is always null).',
      },
    })
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
      async ({ viewer, body, set }) => {
        if (body.current_password === body.new_password)
          throw unprocessable('new_password', 'must differ from current_password')
        await auth.changePassword(viewer, body.current_password, body.new_password)
        set.status = 204
      },
      {
        rateLimit: 'auth:viewer',
        auth: true,
        body: PasswordBody,
        response: { 204: t.Void(), ...problems(400, 401, 403, 413, 415, 422, 429) },
        detail: { summary: 'Change the password; every other session ends' },
      },
    )
    .post(
      '/verify-email/request',
      async ({ viewer, set }) => {
        await accountMail.requestVerification(viewer.id)
        set.status = 202
        return { message: 'A verification link is on its way to your email address.' }
      },
      {
        rateLimit: 'auth:viewer',
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
      async ({ body }) => {
        return privateUser(await accountMail.verifyEmail(body.token))
      },
      {
        rateLimit: 'auth',
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
      async ({ body, set }) => {
        await accountMail.requestReset(body.email)
        set.status = 202
        return { message: 'If the address belongs to an account, a reset link is on its way.' }
      },
      {
        rateLimit: 'auth:email',
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
      async ({ body, set }) => {
        await accountMail.resetPassword(body.token, body.new_password)
        set.status = 204
      },
      {
        rateLimit: 'auth',
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

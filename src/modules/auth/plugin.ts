import { Elysia } from 'elysia'
import { unauthorized } from '../../http/problem'
import { clientIp, type RateLimit } from '../../http/rate-limit'
import type { AuthService, Viewer } from './service'

function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim())
  if (!match) throw unauthorized('The Authorization header must be "Bearer <access_token>"')
  return match[1]
}

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface AuthPluginOptions {
  /** WRITE_RATE_LIMIT: writes per minute per user. */
  writes: RateLimit
  /** AUTH_RATE_LIMIT: sign-in and account attempts per minute per client IP and per account. */
  attempts: RateLimit
  trustProxy: boolean
}

/**
 * Which attempts a route counts against AUTH_RATE_LIMIT: always the client IP's; with `:username`
 * or `:email` also the account named in the body, with `:viewer` the caller's own account.
 */
export type AttemptLimit = 'auth' | 'auth:username' | 'auth:email' | 'auth:viewer'

/**
 * Resolves `viewer` once per request. `auth: true` requires a live session (401 otherwise)
 * and counts writes against WRITE_RATE_LIMIT; `optionalAuth: true` gives `viewer: null`
 * to anonymous callers but still rejects a bad token. `rateLimit: 'auth…'` counts an attempt
 * (429 with Retry-After beyond the limit) before the handler runs.
 */
export function authPlugin(auth: AuthService, { writes, attempts, trustProxy }: AuthPluginOptions) {
  return new Elysia({ name: 'auth-plugin' }).macro({
    auth: {
      detail: { security: [{ bearer: [] }] },
      async resolve({ request, set }) {
        const token = bearerToken(request.headers.get('authorization'))
        if (!token) throw unauthorized()
        const viewer: Viewer = await auth.resolveViewer(token)
        if (!readOnly.has(request.method)) Object.assign(set.headers, await writes.consume(`user:${viewer.id}`))
        return { viewer }
      },
    },
    optionalAuth: {
      detail: { security: [{}, { bearer: [] }] },
      async resolve({ request }) {
        const token = bearerToken(request.headers.get('authorization'))
        const viewer: Viewer | null = token ? await auth.resolveViewer(token) : null
        return { viewer }
      },
    },
    rateLimit(limit: AttemptLimit) {
      return {
        async beforeHandle({ request, server, set, body, ...rest }) {
          const fields = body as { username?: string; email?: string } | undefined
          const account =
            limit === 'auth:username'
              ? fields?.username
              : limit === 'auth:email'
                ? fields?.email
                : limit === 'auth:viewer'
                  ? (rest as { viewer?: Viewer }).viewer?.username
                  : undefined
          const keys = [`ip:${clientIp(request, server, trustProxy)}`]
          if (account) keys.push(`account:${account.toLowerCase()}`)
          Object.assign(set.headers, await attempts.consume(...keys))
        },
      }
    },
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>

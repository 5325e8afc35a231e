import { Elysia } from 'elysia'
import { unauthorized } from '../../http/problem'
import type { RateLimit } from '../../http/rate-limit'
import type { AuthService, Viewer } from './service'

function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim())
  if (!match) throw unauthorized('The Authorization header must be "Bearer <access_token>"')
  return match[1]
}

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Resolves `viewer` once per request. `auth: true` requires a live session (401 otherwise)
 * and counts writes against WRITE_RATE_LIMIT; `optionalAuth: true` gives `viewer: null`
 * to anonymous callers but still rejects a bad token.
 */
export function authPlugin(auth: AuthService, writes: RateLimit) {
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
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>

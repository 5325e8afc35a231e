import { Elysia, t } from 'elysia'

export const ProblemSchema = t.Object(
  {
    type: t.String({ examples: ['/problems/validation_failed'] }),
    title: t.String(),
    status: t.Integer(),
    detail: t.String(),
    code: t.String({
      description:
        'Stable machine-readable code: validation_failed, malformed_json, invalid_cursor, unauthorized, ' +
        'token_expired, forbidden, not_found, conflict, rate_limited, payload_too_large, ' +
        'unsupported_media_type, method_not_allowed, account_disabled, unavailable, internal',
    }),
    errors: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
    request_id: t.Optional(t.String()),
    error: t.Optional(t.String({ description: 'OAuth 2.0 error code, on /auth/token and /auth/refresh' })),
  },
  { title: 'Problem', description: 'RFC 9457 problem details' },
)

/** Shared named models: routes refer to them by name so the OpenAPI document lists each once. */
export const models = new Elysia({ name: 'models' }).model({ Problem: ProblemSchema })

/** The problem+json responses a route can give, for its OpenAPI entry. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, 'Problem' as const])) as Record<number, 'Problem'>
}

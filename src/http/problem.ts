/** RFC 9457 problem details, the body of every error response. */

export interface FieldError {
  field: string
  message: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  errors?: FieldError[]
  request_id?: string
  [extension: string]: unknown
}

const titles: Record<string, string> = {
  validation_failed: 'Request validation failed',
  malformed_json: 'Malformed JSON body',
  bad_request: 'Bad request',
  unauthorized: 'Authentication required',
  invalid_credentials: 'Invalid credentials',
  token_expired: 'Token expired',
  forbidden: 'Forbidden',
  account_disabled: 'Account disabled',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
  unavailable: 'Service unavailable',
}

/**
 * An error a service or route throws on purpose; the app's error handler turns it into
 * problem+json. `extra` adds members (OAuth's `error`), `headers` adds response headers.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly problemCode: string,
    detail: string,
    readonly options: {
      errors?: FieldError[]
      extra?: Record<string, unknown>
      headers?: Record<string, string>
      title?: string
    } = {},
  ) {
    super(detail)
    this.name = 'HttpError'
  }

  toProblem(requestId?: string): Problem {
    return problem(this.status, this.problemCode, this.message, {
      ...this.options.extra,
      ...(this.options.errors ? { errors: this.options.errors } : {}),
      ...(this.options.title ? { title: this.options.title } : {}),
      request_id: requestId,
    })
  }
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: `/problems/${code}`,
    title: titles[code] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  } as Problem
}

const bearer = { 'WWW-Authenticate': 'Bearer realm="pamps"' }

export const badRequest = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new HttpError(400, code, detail, { extra })
export const malformedJson = (detail = 'The request body is not valid JSON') =>
  new HttpError(400, 'malformed_json', detail)
export const invalidCursor = () => unprocessable('cursor', 'is not a cursor this API issued for this list')
export const unauthorized = (detail = 'A valid access token is required', code = 'unauthorized') =>
  new HttpError(401, code, detail, {
    headers: {
      'WWW-Authenticate':
        code === 'token_expired'
          ? 'Bearer realm="pamps", error="invalid_token", error_description="The access token expired"'
          : code === 'unauthorized' && detail !== 'A valid access token is required'
            ? 'Bearer realm="pamps", error="invalid_token"'
            : bearer['WWW-Authenticate'],
    },
  })
export const forbidden = (detail = 'You are not allowed to do this') => new HttpError(403, 'forbidden', detail)
export const accountDisabled = (extra?: Record<string, unknown>) =>
  new HttpError(403, 'account_disabled', 'This account is disabled', { extra })
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`)
export const conflict = (field: string, message: string) =>
  new HttpError(409, 'conflict', `${field} ${message}`, { errors: [{ field, message }] })
export const unprocessable = (field: string, message: string) =>
  new HttpError(422, 'validation_failed', `${field} ${message}`, { errors: [{ field, message }] })
export const payloadTooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The request body is larger than ${limit} bytes`)
export const unsupportedMediaType = (accepted: string[]) =>
  new HttpError(415, 'unsupported_media_type', `Send the body as ${accepted.join(' or ')}`, {
    headers: { 'Accept-Post': accepted.join(', ') },
  })
export const rateLimited = (retryAfterSeconds: number, headers: Record<string, string> = {}) =>
  new HttpError(429, 'rate_limited', `Too many requests; retry in ${retryAfterSeconds} s`, {
    headers: { 'Retry-After': String(retryAfterSeconds), ...headers },
  })
export const unavailable = (detail = 'The database is unavailable; try again shortly') =>
  new HttpError(503, 'unavailable', detail, { headers: { 'Retry-After': '5' } })

import { Elysia, NotFoundError, ParseError, ValidationError } from 'elysia'
import { safeError } from '../errors'
import type { Logger } from '../logger'
import {
  type FieldError,
  HttpError,
  malformedJson,
  payloadTooLarge,
  problem,
  unavailable,
  unsupportedMediaType,
} from './problem'

export interface CoreOptions {
  logger: Logger
  bodyLimit: number
  /** Paths that also take `application/x-www-form-urlencoded` bodies (OAuth's token endpoint). */
  formPaths: ReadonlySet<string>
  /** Every served `METHOD path` pattern, to tell 405 from 404. */
  routes: () => Array<{ method: string; path: string }>
}

interface RequestMeta {
  id: string
  start: number
  status?: number
}

const meta = new WeakMap<Request, RequestMeta>()
const saneRequestId = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export const requestIdOf = (request: Request) => meta.get(request)?.id

function fieldName(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '.')
}

/** Elysia/TypeBox validation errors → one entry per field, with our messages when a schema has one. */
function fieldErrors(error: ValidationError): FieldError[] {
  const out = new Map<string, string>()
  for (const e of error.all as Array<{ path: string; message: string; schema?: { error?: unknown } }>) {
    const custom = typeof e.schema?.error === 'string' ? e.schema.error : undefined
    let field = fieldName(e.path)
    if (!field && custom) field = custom.split(' ')[0] ?? ''
    if (!field) field = error.type === 'query' || error.type === 'property' ? 'query' : 'body'
    let message = custom ?? e.message
    if (message.startsWith(`${field} `)) message = message.slice(field.length + 1)
    if (e.message === 'Unexpected property') message = 'is not an accepted field'
    else if (!e.path && /^Expected (object|array)/.test(e.message)) message = 'must be a JSON object'
    else if (e.message === 'Expected required property' && !custom) message = 'is required'
    if (!out.has(field)) out.set(field, message.charAt(0).toLowerCase() + message.slice(1))
  }
  return [...out].map(([field, message]) => ({ field, message }))
}

/**
 * A response that failed its own schema, for the log: where and why, never the value, which
 * holds whatever the response held (tokens, emails). Elysia's message embeds the whole value.
 */
function responseMismatch(error: ValidationError) {
  const e = error.valueError
  return {
    type: 'ResponseValidationError',
    message: `the response does not match its schema at ${e?.path || '/'}: ${e?.message ?? 'invalid'}`,
  }
}

/** Errors that mean the database (or the primary behind a replica) cannot be reached. */
function isUnavailable(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause
  if (cause && cause !== error && isUnavailable(cause)) return true
  const code = (error as { code?: string; cause?: { code?: string } })?.code ?? ''
  const msg = String((error as Error)?.message ?? '')
  return (
    // DATABASE_UNAVAILABLE: not connected yet, or a request to the primary timed out (src/db/client.ts).
    /^(DATABASE_UNAVAILABLE|HRANA_WEBSOCKET_ERROR|SERVER_ERROR|CLIENT_CLOSED|STREAM_CLOSED|ECONNREFUSED|ECONNRESET|ConnectionClosed)$/.test(
      code,
    ) ||
    (error as Error)?.name === 'TimeoutError' ||
    // The last three are an embedded replica's native errors when its primary is away.
    /ECONNREFUSED|ECONNRESET|fetch failed|Unable to connect|connection refused|socket connection was closed|SQLITE_BUSY|database is locked|WriteDelegation|Replication\(|sync error/i.test(
      msg,
    )
  )
}

function matchesPattern(pattern: string, path: string): boolean {
  const p = pattern.split('/')
  const s = path.split('/')
  if (p.length !== s.length) return false
  // A parameter matches a non-empty segment only: `/posts//context` names no post.
  return p.every((seg, i) => (seg.startsWith(':') ? s[i] !== '' : seg === '*' || seg === s[i]))
}

/**
 * Every path is canonical without a trailing slash (`/api/v1/posts`, as the contract names them):
 * `/api/v1/posts/` answers 308 to it, as GitHub's API does, so a client that adds one still gets
 * there (with its method and body) and the document lists each path once. Returns the canonical
 * path and query, or undefined when the path already is.
 */
export function withoutTrailingSlash(url: string): string | undefined {
  const q = url.indexOf('?')
  const end = q === -1 ? url.length : q
  if (url.charCodeAt(end - 1) !== 47 /* / */) return undefined
  const pathStart = url.indexOf('/', url.indexOf('//') + 2)
  if (pathStart === -1 || end - 1 <= pathStart) return undefined
  let cut = end - 1
  while (cut > pathStart && url.charCodeAt(cut - 1) === 47) cut--
  if (cut === pathStart) return undefined
  return url.slice(pathStart, cut) + url.slice(end)
}

async function readLimited(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? 'NaN')
  if (declared > limit) throw payloadTooLarge(limit)
  const bytes = new Uint8Array(await request.arrayBuffer())
  if (bytes.byteLength > limit) throw payloadTooLarge(limit)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw malformedJson('The request body is not valid UTF-8')
  }
}

/**
 * The cross-cutting behaviour of every route: request ids, security headers, bounded and
 * strictly typed bodies, one structured log line per request, and RFC 9457 problem+json
 * for every error, whatever raised it.
 */
export function httpCore(options: CoreOptions) {
  const { logger, bodyLimit, formPaths } = options
  return new Elysia({ name: 'http-core' })
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && saneRequestId.test(given) ? given : crypto.randomUUID()
      meta.set(request, { id, start: performance.now() })
      set.headers['x-request-id'] = id
      set.headers['x-content-type-options'] = 'nosniff'
      set.headers['cache-control'] = 'no-store'
      const canonical = withoutTrailingSlash(request.url)
      if (canonical !== undefined) {
        set.status = 308
        set.headers.location = canonical
        return new Response(null, { status: 308, headers: set.headers as Record<string, string> })
      }
      const declared = Number(request.headers.get('content-length') ?? '0')
      if (declared > bodyLimit) throw payloadTooLarge(bodyLimit)
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
      const path = new URL(request.url).pathname
      const accepted = formPaths.has(path)
        ? ['application/json', 'application/x-www-form-urlencoded']
        : ['application/json']
      if (type === 'application/json' || type.endsWith('+json')) {
        const text = await readLimited(request, bodyLimit)
        try {
          return JSON.parse(text) as unknown
        } catch {
          throw malformedJson()
        }
      }
      if (type === 'application/x-www-form-urlencoded' && formPaths.has(path)) {
        const text = await readLimited(request, bodyLimit)
        return Object.fromEntries(new URLSearchParams(text))
      }
      const text = await readLimited(request, bodyLimit)
      if (text.length === 0) return {}
      throw unsupportedMediaType(accepted)
    })
    .onError({ as: 'global' }, ({ error: raised, request, set, path }) => {
      // Elysia wraps whatever a parse hook throws in a ParseError; ours carry their own status.
      const error = raised instanceof ParseError && raised.cause instanceof HttpError ? raised.cause : raised
      const m = meta.get(request)
      const requestId = m?.id ?? crypto.randomUUID()
      const headers: Record<string, string> = {
        'x-request-id': requestId,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        'content-type': 'application/problem+json',
      }
      for (const [k, v] of Object.entries(set.headers)) if (typeof v === 'string' && !(k in headers)) headers[k] = v
      let body: ReturnType<typeof problem>
      if (error instanceof HttpError) {
        body = error.toProblem(requestId)
        Object.assign(headers, error.options.headers)
      } else if (error instanceof ValidationError && error.type !== 'response') {
        const errors = fieldErrors(error)
        const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ')
        body = problem(422, 'validation_failed', detail, { errors, request_id: requestId })
      } else if (error instanceof ParseError) {
        body = problem(400, 'malformed_json', 'The request body could not be parsed', { request_id: requestId })
      } else if (error instanceof NotFoundError) {
        const url = new URL(request.url)
        const allowed = options
          .routes()
          .filter((r) => r.method !== 'OPTIONS' && r.path !== '*' && matchesPattern(r.path, url.pathname))
          .map((r) => r.method)
        if (allowed.length > 0) {
          const allow = [...new Set([...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])])].join(', ')
          headers.allow = allow
          body = problem(405, 'method_not_allowed', `${request.method} is not allowed here; use ${allow}`, {
            request_id: requestId,
          })
        } else {
          body = problem(404, 'not_found', `No route matches ${request.method} ${url.pathname}`, {
            request_id: requestId,
          })
        }
      } else if (isUnavailable(error)) {
        logger.warn({ request_id: requestId, err: safeError(error) }, 'database unavailable')
        const e = unavailable()
        body = e.toProblem(requestId)
        Object.assign(headers, e.options.headers)
      } else {
        logger.error(
          {
            request_id: requestId,
            path,
            ...(error instanceof ValidationError
              ? { err: responseMismatch(error) }
              : { err: safeError(error), stack: (error as Error)?.stack?.split('\n').slice(1, 6).join('\n') }),
          },
          'unhandled error',
        )
        body = problem(500, 'internal', 'Something went wrong on our side; the request id identifies it in our logs', {
          request_id: requestId,
        })
      }
      // OAuth clients of the token endpoint look for `error` in every failure.
      if (body.status < 500 && body.error === undefined && formPaths.has(new URL(request.url).pathname))
        body.error = body.status === 401 ? 'invalid_grant' : 'invalid_request'
      if (m) m.status = body.status
      set.status = body.status
      return new Response(JSON.stringify(body), { status: body.status, headers })
    })
    .onAfterResponse({ as: 'global' }, ({ request, set }) => {
      const m = meta.get(request)
      if (!m || !logger.isLevelEnabled('info')) return
      const status = m.status ?? (typeof set.status === 'number' ? set.status : 200)
      logger.info(
        {
          request_id: m.id,
          method: request.method,
          path: new URL(request.url).pathname,
          status,
          duration_ms: Math.round((performance.now() - m.start) * 100) / 100,
        },
        'request',
      )
    })
}

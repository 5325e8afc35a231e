import { t } from 'elysia'
import { invalidCursor } from './problem'

/** `?limit=&cursor=` of every list. */
export const PageQuery = {
  limit: t.Optional(
    t.Integer({ minimum: 1, maximum: 100, default: 20, error: 'limit must be an integer from 1 to 100' }),
  ),
  cursor: t.Optional(
    t.String({
      maxLength: 512,
      description: 'Opaque; the next_cursor of the previous page',
      error: 'cursor is invalid',
    }),
  ),
}

export const pageOf = <T extends Parameters<typeof t.Array>[0]>(item: T, title: string) =>
  t.Object(
    { items: t.Array(item), next_cursor: t.Union([t.String(), t.Null()]) },
    { title, description: 'A page; pass next_cursor as ?cursor= for the next one (null on the last page)' },
  )

type KeyPart = 'int' | 'string'
type KeyValue<P extends KeyPart> = P extends 'int' ? number : string

/** An opaque cursor: base64url of the list's name and the last item's key. */
export function encodeCursor(list: string, key: Array<string | number>): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString('base64url')
}

/** The key inside a cursor issued for this list; anything else is 400 `invalid_cursor`. */
export function decodeCursor<const P extends readonly KeyPart[]>(
  list: string,
  cursor: string | undefined,
  parts: P,
): { [I in keyof P]: KeyValue<P[I]> } | undefined {
  if (cursor === undefined || cursor === '') return undefined
  let decoded: unknown
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor()
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  if (!Array.isArray(decoded) || decoded.length !== parts.length + 1 || decoded[0] !== list) throw invalidCursor()
  const values = decoded.slice(1)
  parts.forEach((part, i) => {
    const v = values[i]
    const ok = part === 'int' ? Number.isSafeInteger(v) && (v as number) >= 0 : typeof v === 'string' && v.length <= 256
    if (!ok) throw invalidCursor()
  })
  return values as { [I in keyof P]: KeyValue<P[I]> }
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

/** Rows fetched with `limit + 1` → the page's rows and the cursor of the next page, if any. */
function split<R>(rows: R[], limit: number, list: string, keyOf: (row: R) => Array<string | number>) {
  const more = rows.length > limit
  const pageRows = more ? rows.slice(0, limit) : rows
  const last = pageRows[pageRows.length - 1]
  return { pageRows, next: more && last !== undefined ? encodeCursor(list, keyOf(last)) : null }
}

/** Rows fetched with `limit + 1` → the page and the cursor of the next one, if any. */
export function paginate<R, T>(
  rows: R[],
  limit: number,
  list: string,
  keyOf: (row: R) => Array<string | number>,
  serialize: (row: R) => T,
): Page<T> {
  const { pageRows, next } = split(rows, limit, list, keyOf)
  return { items: pageRows.map(serialize), next_cursor: next }
}

/** Sets `Link: <…>; rel="next"` when the page has a next one. */
export function setLinkHeader(
  set: { headers: Record<string, unknown> },
  request: Request,
  page: { next_cursor: string | null },
) {
  if (!page.next_cursor) return
  set.headers.link = `<${nextPageTarget(request.url, page.next_cursor)}>; rel="next"`
}

/**
 * The request's path and query with `cursor` set: what the Link header points to. Cut from the
 * URL text rather than parsed with `URL` (a few per cent of a page's CPU under load): a server
 * request's URL is always absolute, and the query is re-encoded only when it has one.
 */
export function nextPageTarget(url: string, cursor: string): string {
  const q = url.indexOf('?')
  const pathStart = url.indexOf('/', url.indexOf('//') + 2)
  const path = url.slice(pathStart, q === -1 ? undefined : q)
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
  params.set('cursor', cursor)
  return `${path}?${params}`
}

/**
 * Like `paginate` plus `setLinkHeader`, sent as a ready JSON Response: the items are built by
 * `serialize` from rows the service already shaped, so the response schema is not checked again
 * on every page (the tests and the reliability suite check pages against the OpenAPI document).
 *
 * The headers the hooks put on `set` so far (request id, security headers, CORS, Link) move into
 * the Response. Left on `set`, Elysia would copy the Response to merge them in: new Headers, a
 * second Response, about a twentieth of a feed request's CPU under load. A hook that adds one
 * later still gets it merged.
 */
export function pageResponse<R, T>(
  rows: R[],
  limit: number,
  list: string,
  keyOf: (row: R) => Array<string | number>,
  serialize: (row: R) => T,
  set: { headers: Record<string, unknown> },
  request: Request,
): Response {
  const page = paginate(rows, limit, list, keyOf, serialize)
  setLinkHeader(set, request, page)
  const headers = set.headers as Record<string, string>
  headers['content-type'] = 'application/json'
  const response = new Response(JSON.stringify(page), { headers })
  set.headers = {}
  return response
}

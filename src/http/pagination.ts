import { t } from 'elysia'
import { chars, Query } from './params'
import { invalidCursor } from './problem'

/** The page size when a list is asked for none (`?limit=`). */
export const DEFAULT_PAGE = 20

/** `?limit=&cursor=` of every list. */
export const PageQuery = {
  limit: t.Optional(
    t.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE, error: 'limit must be an integer from 1 to 100' }),
  ),
  cursor: t.Optional(
    chars({
      maxLength: 512,
      description: 'Opaque; the next_cursor of the previous page',
      error: 'cursor is invalid',
    }),
  ),
}

/** The query of a list that takes nothing but `limit` and `cursor`. */
export const PageOnlyQuery = Query({ ...PageQuery })

export const pageOf = <T extends Parameters<typeof t.Array>[0]>(item: T, title: string) =>
  t.Object(
    { items: t.Array(item), next_cursor: t.Union([t.String(), t.Null()]) },
    { title, description: 'A page; pass next_cursor as ?cursor= for the next one (null on the last page)' },
  )

/** What a caller asks of a list: the query's `limit` and `cursor`. */
export interface PageRequest {
  limit?: number
  cursor?: string
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

type KeyPart = 'int' | 'string'
type KeyValues<P extends readonly KeyPart[]> = { [I in keyof P]: P[I] extends 'int' ? number : string }

/**
 * The keyset pagination of one list: its cursors are opaque (base64url of the list's name and the
 * last item's key), and a cursor issued for another list, forged or stale, is 422 `validation_failed`
 * on `cursor`, never a 500.
 */
export class Keyset<const P extends readonly KeyPart[]> {
  constructor(
    readonly name: string,
    readonly parts: P,
  ) {}

  encode(key: KeyValues<P>): string {
    return Buffer.from(JSON.stringify([this.name, ...key])).toString('base64url')
  }

  /** The key inside a cursor issued for this list (undefined without one). */
  decode(cursor: string | undefined): KeyValues<P> | undefined {
    if (cursor === undefined || cursor === '') return undefined
    let decoded: unknown
    try {
      if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor()
      decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    } catch {
      throw invalidCursor()
    }
    if (!Array.isArray(decoded) || decoded.length !== this.parts.length + 1 || decoded[0] !== this.name)
      throw invalidCursor()
    const values = decoded.slice(1)
    this.parts.forEach((part, i) => {
      const v = values[i]
      const ok =
        part === 'int' ? Number.isSafeInteger(v) && (v as number) >= 0 : typeof v === 'string' && v.length <= 256
      if (!ok) throw invalidCursor()
    })
    return values as KeyValues<P>
  }

  /** Rows fetched with `limit + 1` → the page's rows and the cursor of the next page, if any. */
  page<R>(rows: R[], limit: number, keyOf: (row: R) => KeyValues<P>): Page<R> {
    const more = rows.length > limit
    const items = more ? rows.slice(0, limit) : rows
    const last = items[items.length - 1]
    return { items, next_cursor: more && last !== undefined ? this.encode(keyOf(last)) : null }
  }
}

/**
 * A service's page of rows → the response: each row serialized, `Link: <…>; rel="next"` when there
 * is a next page, sent as a ready JSON Response. The items come from rows the service already
 * shaped, so the response schema is not checked again on every page (the test suite checks every
 * response against the OpenAPI document).
 *
 * The headers the hooks put on `set` so far (request id, security headers, CORS, rate limits) move
 * into the Response. Left on `set`, Elysia would copy the Response to merge them in: new Headers, a
 * second Response, about a twentieth of a feed request's CPU under load. A hook that adds one
 * later still gets it merged.
 */
export function paged<R, T>(
  ctx: { request: Request; set: { headers: Record<string, unknown> } },
  page: Page<R>,
  serialize: (row: R) => T,
): Response {
  const body: Page<T> = { items: page.items.map(serialize), next_cursor: page.next_cursor }
  const headers = ctx.set.headers as Record<string, string>
  if (body.next_cursor) headers.link = `<${nextPageTarget(ctx.request.url, body.next_cursor)}>; rel="next"`
  headers['content-type'] = 'application/json'
  const response = new Response(JSON.stringify(body), { headers })
  ctx.set.headers = {}
  return response
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

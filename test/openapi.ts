/**
 * The OpenAPI document served on /docs/json, read back for tests: its operations, a matcher
 * from a concrete request to its operation, and an ajv validator for responses. Shared by the
 * conformance test, the fuzzer and the security matrix (not a test file itself).
 */
import Ajv, { type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

// biome-ignore lint/suspicious/noExplicitAny: the document is inspected freely
export type Json = any

export interface Operation {
  /** `GET /api/v1/posts/{id}`: the document's own key. */
  key: string
  method: string
  /** The document's path template, e.g. `/api/v1/posts/{id}`. */
  path: string
  op: Json
  /** Requires a bearer token. */
  secured: boolean
  /** Takes a bearer token but also works without one. */
  optionalAuth: boolean
  /** The JSON schema of the request body, when the operation takes one. */
  body: Json | undefined
  params: Array<{ name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: Json }>
}

/** What a response did that the document does not say. */
export interface Mismatch {
  operation: string
  status: number
  problem: string
}

/**
 * Errors the contract (api-v1.md, "Errors") gives every route, which the document lists only on
 * some operations: malformed or oversized bodies, wrong media types, path parameters that fail
 * validation, methods not allowed, rate limits, an unavailable database. A response with one of
 * these statuses that the operation does not list is still checked against the Problem schema.
 */
export const CROSS_CUTTING = new Set([400, 405, 413, 415, 422, 429, 503])

const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p)

/** A deep copy without `$id` (the generator puts fragment ids where ajv wants none) and with refs ajv can resolve. */
function clean(node: Json): Json {
  if (Array.isArray(node)) return node.map(clean)
  if (node === null || typeof node !== 'object') return node
  const out: Json = {}
  for (const [k, v] of Object.entries(node)) {
    if (k === '$id') continue
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
      out[k] = `openapi.json#/definitions/${v.slice('#/components/schemas/'.length)}`
    else out[k] = clean(v)
  }
  return out
}

export class OpenApi {
  readonly operations: Operation[]
  /** `operation status` pairs answered under CROSS_CUTTING without being listed on the operation. */
  readonly undocumented = new Set<string>()
  readonly #ajv: Ajv
  readonly #validators = new Map<string, ValidateFunction>()
  readonly #templates: Array<{ op: Operation; regex: RegExp; params: number }>

  constructor(readonly doc: Json) {
    this.#ajv = new Ajv({ strict: false, allErrors: true })
    addFormats(this.#ajv)
    // TypeBox's numeric strings: `t.Integer` in a query is documented as a string of this format too.
    this.#ajv.addFormat('integer', /^-?\d+$/)
    this.#ajv.addSchema({ $id: 'openapi.json', definitions: clean(doc.components?.schemas ?? {}) })
    this.operations = []
    for (const [path, item] of Object.entries<Json>(doc.paths))
      for (const [method, op] of Object.entries<Json>(item)) {
        const security: Json[] = op.security ?? []
        const bearer = security.some((s) => s && 'bearer' in s)
        const anonymous = security.some((s) => s && Object.keys(s).length === 0)
        const content = op.requestBody?.content
        this.operations.push({
          key: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          path,
          op,
          secured: bearer && !anonymous,
          optionalAuth: bearer && anonymous,
          body: content ? clean((content['application/json'] ?? Object.values(content)[0])?.schema) : undefined,
          params: (op.parameters ?? []).map((p: Json) => ({
            name: p.name,
            in: p.in,
            required: Boolean(p.required),
            schema: clean(p.schema),
          })),
        })
      }
    this.#templates = this.operations
      .map((op) => {
        const parts = trim(op.path)
          .split('/')
          .map((seg) => (/^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        return { op, regex: new RegExp(`^${parts.join('/')}$`), params: (op.path.match(/\{/g) ?? []).length }
      })
      // A literal segment wins over a parameter: GET /users/me is not GET /users/{username}.
      .sort((a, b) => a.params - b.params)
  }

  /**
   * The operation a concrete request (path without query) is for, if the document has one. A path
   * with a trailing slash is none: it answers 308 to the canonical path the document lists.
   */
  match(method: string, path: string): Operation | undefined {
    const p = path.split('?')[0] ?? ''
    return this.#templates.find((t) => t.op.method === method.toUpperCase() && t.regex.test(p))?.op
  }

  find(key: string): Operation {
    const op = this.operations.find((o) => o.key === key)
    if (!op) throw new Error(`no operation ${key} in the document`)
    return op
  }

  /** Every way this response departs from the document (empty when it conforms). */
  check(
    op: Operation,
    status: number,
    contentType: string | null,
    text: string,
    crossCutting: ReadonlySet<number> = new Set(),
  ): Mismatch[] {
    const out: Mismatch[] = []
    const fail = (problem: string) => out.push({ operation: op.key, status, problem })
    let response = op.op.responses?.[String(status)] ?? op.op.responses?.default
    if (!response && crossCutting.has(status)) {
      this.undocumented.add(`${op.key} ${status}`)
      response = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } } }
    }
    if (!response) {
      fail('status not documented')
      return out
    }
    const schema = response.content
      ? (response.content['application/json'] ?? Object.values(response.content)[0])
      : undefined
    if (!schema?.schema) {
      if (text.length > 0 && status === 204) fail('a 204 with a body')
      return out
    }
    const type = (contentType ?? '').split(';')[0]?.trim() ?? ''
    if (!/^application\/(problem\+)?json$/.test(type)) fail(`content type ${type || '(none)'} is not JSON`)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      fail('body is not JSON')
      return out
    }
    const key = `${op.key} ${status}`
    let validate = this.#validators.get(key)
    if (!validate) {
      validate = this.#ajv.compile(clean(schema.schema))
      this.#validators.set(key, validate)
    }
    if (!validate(body))
      for (const e of validate.errors ?? []) fail(`body${e.instancePath} ${e.message} (${JSON.stringify(e.params)})`)
    return out
  }
}

// biome-ignore-all lint/suspicious/noExplicitAny: an OpenAPI document is inspected and rewritten freely
type Json = any

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }

const descriptions: Record<number, string> = {
  400: 'Malformed request (e.g. malformed JSON): problem+json',
  401: 'Missing, invalid, expired or revoked token (WWW-Authenticate: Bearer): problem+json',
  403: 'Authenticated but not allowed: problem+json',
  404: 'Not found, or not visible to the caller: problem+json',
  409: 'Conflict: problem+json',
  413: 'Request body larger than the limit: problem+json',
  415: 'Request body of a media type this operation does not take: problem+json',
  422: 'Validation failed; `errors` names each field: problem+json',
  429: 'Rate limited; see Retry-After and RateLimit-* headers: problem+json',
  500: 'Unexpected failure, logged with the request id (no details are returned): problem+json',
  503: 'The database (or a replica primary) is unavailable; see Retry-After: problem+json',
}

/**
 * Makes the generated document say what the server does: bodies are JSON only (plus a form on
 * the OAuth token endpoint), every error is `application/problem+json`, and each operation lists
 * the errors every route can give (bad bodies, validation, auth, rate limits, 5xx).
 */
export function refineOpenApi(doc: Json, formPaths: ReadonlySet<string>): Json {
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Json>(item)) {
      const body = op.requestBody?.content
      if (body) {
        const schema = body['application/json']?.schema ?? Object.values<Json>(body)[0]?.schema
        op.requestBody.content = { 'application/json': { schema } }
        if (formPaths.has(path)) op.requestBody.content['application/x-www-form-urlencoded'] = { schema }
      }
      op.responses ??= {}
      const statuses = new Set(Object.keys(op.responses).map(Number))
      const add = (status: number) => statuses.add(status)
      if (body) [400, 413, 415, 422].forEach(add)
      if ((op.parameters ?? []).some((p: Json) => p.in === 'query')) add(422)
      if (op.security?.some((s: Json) => 'bearer' in s)) add(401)
      if (op.security?.length === 1 && method !== 'get') add(429)
      add(500)
      add(503)
      for (const status of statuses) {
        if (status < 400) continue
        op.responses[status] = {
          description: descriptions[status] ?? op.responses[status]?.description ?? 'Error: problem+json',
          content: problemContent,
        }
      }
    }
  }
  return doc
}

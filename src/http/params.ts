import { FormatRegistry, Kind, type SchemaOptions, type TProperties, TypeRegistry } from '@sinclair/typebox'
import { t } from 'elysia'

/**
 * Strings bounded in characters (Unicode code points), as the contract and JSON Schema count them:
 * 300 emoji are a valid 300-character bio. TypeBox's own `maxLength` counts UTF-16 units (an emoji
 * is two), so every bounded string of the API is a `chars()`: a TypeBox kind of its own whose check
 * counts code points, with `minLength`, `maxLength`, `pattern` and `format` meaning what they mean
 * in JSON Schema. The OpenAPI document shows it as a plain `type: string` with those keywords.
 */
export interface CharsOptions extends SchemaOptions {
  /** The message of a failed check, starting with the field's name (TypeBox's own would name the kind). */
  error: string
  minLength?: number
  maxLength: number
  pattern?: string
  format?: string
}

const patterns = new Map<string, RegExp>()

function codePoints(value: string, max: number): number {
  let n = 0
  for (const _ of value) if (++n > max) break
  return n
}

TypeRegistry.Set<CharsOptions>('Chars', (schema, value) => {
  if (typeof value !== 'string') return false
  const min = schema.minLength ?? 0
  const max = schema.maxLength
  // A code point is one or two UTF-16 units, so the units bound the count: counting is needed
  // only when they alone cannot tell.
  if (value.length < min || value.length > 2 * max) return false
  if (value.length > max || value.length < 2 * min) {
    const n = codePoints(value, max)
    if (n < min || n > max) return false
  }
  if (schema.pattern !== undefined) {
    let regex = patterns.get(schema.pattern)
    if (!regex) {
      regex = new RegExp(schema.pattern, 'u')
      patterns.set(schema.pattern, regex)
    }
    if (!regex.test(value)) return false
  }
  if (schema.format !== undefined) {
    const check = FormatRegistry.Get(schema.format)
    if (check && !check(value)) return false
  }
  return true
})

export function chars(options: CharsOptions) {
  return t.Unsafe<string>({ ...options, type: 'string', [Kind]: 'Chars' })
}

/** A query string's schema: the known parameters validated, unknown ones ignored (cache-busters like `_=`). */
export function Query<P extends TProperties>(properties: P) {
  return t.Object(properties, { additionalProperties: true })
}

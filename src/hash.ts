import { createHash } from 'node:crypto'

/** SHA-256 of a string, base64url: what is stored in place of a token or a request body. */
export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')

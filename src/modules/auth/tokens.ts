import { randomBytes } from 'node:crypto'
import { jwt } from '@elysiajs/jwt'
import { errors, jwtVerify } from 'jose'
import { unauthorized } from '../../http/problem'

export interface TokenOptions {
  secret: string
  issuer: string
  audience: string
  accessTtl: number
  refreshTtl: number
}

export interface TokenClaims {
  userId: number
  sessionId: string
  /** The token's id; for a refresh token, the rotating id stored hashed in the session. */
  jti: string
}

export type TokenType = 'access' | 'refresh'

export const randomId = (bytes = 16) => randomBytes(bytes).toString('base64url')

/**
 * Signs HS256 JWTs with `exp` always set, and verifies them with the algorithm, issuer,
 * audience, required claims and token type pinned. The two sides use two libraries on purpose:
 * `@elysiajs/jwt` signs (it sets the header and claims we issue), `jose` verifies, because
 * `@elysiajs/jwt`'s own `verify()` without options accepts other HMAC algorithms, a missing `exp`
 * and any `typ`.
 */
export class TokenService {
  readonly #key: Uint8Array
  readonly #signers: Record<TokenType, ReturnType<typeof signer>>
  /**
   * Access tokens already verified, until they expire. A token's signature and claims never
   * change, so checking them again on every request (~20 µs of HMAC and JSON) only repeats the
   * answer; the expiry is still checked on every use, and whether the session is live is the
   * caller's database lookup, as before. Bounded; the oldest entry goes first.
   */
  readonly #verified = new Map<string, { claims: TokenClaims; expiresAt: number }>()

  constructor(private readonly options: TokenOptions) {
    this.#key = new TextEncoder().encode(options.secret)
    this.#signers = {
      access: signer(options, 'at+jwt'),
      refresh: signer(options, 'rt+jwt'),
    }
  }

  async sign(type: TokenType, claims: TokenClaims): Promise<string> {
    const ttl = type === 'access' ? this.options.accessTtl : this.options.refreshTtl
    return this.#signers[type].sign({
      sub: String(claims.userId),
      sid: claims.sessionId,
      jti: claims.jti,
      typ: type,
      exp: Math.floor(Date.now() / 1000) + ttl,
    })
  }

  /** The claims of a valid token of this type; otherwise a 401 (`token_expired` when only time is wrong). */
  async verify(type: TokenType, token: string): Promise<TokenClaims> {
    if (type === 'access') {
      const known = this.#verified.get(token)
      if (known && Date.now() < known.expiresAt) return known.claims
      if (known) this.#verified.delete(token)
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: type === 'access' ? 'at+jwt' : 'rt+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti', 'typ'],
      })
      // We only ever issue {alg, typ}: a kid, jku, jwk or x5u header is someone else's token.
      if (Object.keys(protectedHeader).some((k) => k !== 'alg' && k !== 'typ')) throw new Error('foreign header')
      if (payload.typ !== type) throw new Error('wrong token type')
      const userId = Number(payload.sub)
      if (!Number.isSafeInteger(userId) || typeof payload.sid !== 'string' || typeof payload.jti !== 'string')
        throw new Error('malformed claims')
      const claims = { userId, sessionId: payload.sid, jti: payload.jti }
      if (type === 'access') this.#remember(token, claims, (payload.exp as number) * 1000)
      return claims
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthorized('The token has expired', 'token_expired')
      throw unauthorized(`The ${type} token is invalid`)
    }
  }

  #remember(token: string, claims: TokenClaims, expiresAt: number) {
    if (this.#verified.size >= VERIFIED_MAX) {
      const oldest = this.#verified.keys().next()
      if (!oldest.done) this.#verified.delete(oldest.value)
    }
    this.#verified.set(token, { claims, expiresAt })
  }
}

const VERIFIED_MAX = 10_000

function signer(options: TokenOptions, typ: string) {
  return jwt({
    name: 'jwt',
    secret: options.secret,
    alg: 'HS256',
    typ,
    iss: options.issuer,
    aud: options.audience,
  }).decorator.jwt
}

import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { rateLimited } from './problem'

/**
 * A fixed-window limiter of `perMinute` attempts per key (rate-limiter-flexible, in memory:
 * each instance counts on its own, so N instances allow up to N× the limit in total).
 * `perMinute = 0` turns it off.
 */
export class RateLimit {
  readonly #limiter: RateLimiterMemory | undefined

  constructor(readonly perMinute: number) {
    this.#limiter = perMinute > 0 ? new RateLimiterMemory({ points: perMinute, duration: 60 }) : undefined
  }

  /** Counts one attempt for every key; throws 429 with `Retry-After` when any is over its limit. */
  async consume(...keys: string[]): Promise<Record<string, string>> {
    const limiter = this.#limiter
    if (!limiter) return {}
    let tightest: RateLimiterRes | undefined
    for (const key of keys) {
      try {
        const res = await limiter.consume(key)
        if (!tightest || res.remainingPoints < tightest.remainingPoints) tightest = res
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))
        throw rateLimited(retryAfter, {
          'RateLimit-Limit': String(this.perMinute),
          'RateLimit-Remaining': '0',
          'RateLimit-Reset': String(retryAfter),
        })
      }
    }
    if (!tightest) return {}
    return {
      'RateLimit-Limit': String(this.perMinute),
      'RateLimit-Remaining': String(Math.max(0, tightest.remainingPoints)),
      'RateLimit-Reset': String(Math.max(1, Math.ceil(tightest.msBeforeNext / 1000))),
    }
  }
}

/** The client's address: the socket's, or the proxy's header only when TRUST_PROXY is set. */
export function clientIp(
  request: Request,
  server: { requestIP(r: Request): { address: string } | null } | null | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const fly = request.headers.get('fly-client-ip')?.trim()
    if (fly) return fly
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  return server?.requestIP(request)?.address ?? 'local'
}

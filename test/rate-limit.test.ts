import { describe, expect, test } from 'bun:test'
import { createUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext({ AUTH_RATE_LIMIT: '5', WRITE_RATE_LIMIT: '3' })

describe('rate limits', () => {
  test('the 6th bad login within a minute → 429 with Retry-After and RateLimit headers', async () => {
    const u = await createUser(ctx)
    for (let i = 0; i < 4; i++) {
      const res = await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: 'wrong password' },
        headers: { 'user-agent': 'x' },
      })
      expectProblem(res, 401, 'unauthorized')
    }
    const limited = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: 'wrong password' },
    })
    // Registration counted once for this client address: 1 + 4 attempts, so the 6th is refused.
    expectProblem(limited, 429, 'rate_limited')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(limited.headers.get('ratelimit-limit')).toBe('5')
    expect(limited.headers.get('ratelimit-remaining')).toBe('0')
  })

  test('writes by one user are limited per user', async () => {
    const fresh = await createTestContext({ AUTH_RATE_LIMIT: '0', WRITE_RATE_LIMIT: '3' })
    const u = await createUser(fresh)
    for (let i = 0; i < 3; i++)
      expect((await fresh.call('PATCH', '/api/v1/users/me', { token: u.token, body: { bio: `${i}` } })).status).toBe(
        200,
      )
    const limited = await fresh.call('PATCH', '/api/v1/users/me', { token: u.token, body: { bio: 'again' } })
    expectProblem(limited, 429, 'rate_limited')
    // Reads are not writes.
    expect((await fresh.call('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
  })
})

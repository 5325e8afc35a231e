import { describe, expect, setSystemTime, test } from 'bun:test'
import { SignJWT } from 'jose'
import { createUser, makeAdmin } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()
const secret = new TextEncoder().encode(ctx.config.jwt.secret)

const formBody = (fields: Record<string, string>) => ({
  raw: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
})

describe('registration', () => {
  test('201 with a PrivateUser and a token pair; no hash or secret in the response', async () => {
    const res = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'reg_alice', email: 'Reg.Alice@Example.com', password: 'password123', display_name: 'Alice' },
    })
    expect(res.status).toBe(201)
    expect(res.body.user).toMatchObject({
      username: 'reg_alice',
      email: 'Reg.Alice@Example.com',
      display_name: 'Alice',
      role: 'user',
      disabled: false,
      email_verified: false,
      followers_count: 0,
    })
    expect(res.body.token_type).toBe('Bearer')
    expect(res.body.expires_in).toBe(900)
    expect(res.text).not.toContain('argon2')
    expect(res.text).not.toContain('password123')
    expect(res.text).not.toContain('password_hash')
  })

  test('username and email are unique ignoring case → 409 naming the field', async () => {
    await createUser(ctx, { username: 'dup_user', email: 'dup@example.com' })
    const sameName = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'dup_user', email: 'other@example.com', password: 'password123' },
    })
    expect(expectProblem(sameName, 409, 'conflict').errors).toEqual([
      { field: 'username', message: 'is already taken' },
    ])
    const sameEmail = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'dup_user2', email: 'DUP@EXAMPLE.COM', password: 'password123' },
    })
    expect(expectProblem(sameEmail, 409, 'conflict').errors[0].field).toBe('email')
  })

  test('bad input → 422 naming each field, and no account is created', async () => {
    const res = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'No', email: 'not-an-email', password: 'short' },
    })
    const problem = expectProblem(res, 422, 'validation_failed')
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'password', 'username'])
    const count = await ctx.database.client.execute("SELECT count(*) AS n FROM users WHERE username = 'No'")
    expect(count.rows[0]?.n).toBe(0)
  })

  test('privileged fields in the body → 422', async () => {
    const res = await ctx.call('POST', '/api/v1/auth/register', {
      body: { username: 'sneaky', email: 'sneaky@example.com', password: 'password123', role: 'admin' },
    })
    expect(expectProblem(res, 422, 'validation_failed').errors).toEqual([
      { field: 'role', message: 'is not an accepted field' },
    ])
  })
})

describe('token endpoint', () => {
  test('password grant by username and by email, as form and as JSON', async () => {
    const u = await createUser(ctx)
    for (const login of [u.username, u.email.toUpperCase()]) {
      const json = await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: login, password: u.password },
      })
      expect(json.status).toBe(200)
      expect(json.body.access_token).toBeString()
      const form = await ctx.call(
        'POST',
        '/api/v1/auth/token',
        formBody({ grant_type: 'password', username: login, password: u.password }),
      )
      expect(form.status).toBe(200)
      expect(form.body.refresh_token).toBeString()
    }
  })

  test('wrong password and unknown user give identical 401 bodies', async () => {
    const u = await createUser(ctx)
    const wrong = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: 'wrong password' },
    })
    const unknown = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: 'nobody_here', password: 'wrong password' },
    })
    expectProblem(wrong, 401, 'unauthorized')
    expect(wrong.body.error).toBe('invalid_grant')
    const { request_id: _a, ...a } = wrong.body
    const { request_id: _b, ...b } = unknown.body
    expect(a).toEqual(b)
    expect(unknown.status).toBe(wrong.status)
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer')
  })

  test('OAuth errors: missing grant_type, unsupported grant, missing fields', async () => {
    const missing = await ctx.call('POST', '/api/v1/auth/token', formBody({ username: 'x' }))
    expect(expectProblem(missing, 400, 'validation_failed').error).toBe('invalid_request')
    const unsupported = await ctx.call('POST', '/api/v1/auth/token', formBody({ grant_type: 'client_credentials' }))
    expect(expectProblem(unsupported, 400, 'validation_failed').error).toBe('unsupported_grant_type')
    const noPassword = await ctx.call('POST', '/api/v1/auth/token', formBody({ grant_type: 'password', username: 'x' }))
    expect(expectProblem(noPassword, 400, 'validation_failed').error).toBe('invalid_request')
    const malformed = await ctx.call('POST', '/api/v1/auth/token', {
      raw: '{bad',
      headers: { 'content-type': 'application/json' },
    })
    expect(expectProblem(malformed, 400, 'malformed_json').error).toBe('invalid_request')
  })

  test('the refresh_token grant rotates like /auth/refresh', async () => {
    const u = await createUser(ctx)
    const res = await ctx.call(
      'POST',
      '/api/v1/auth/token',
      formBody({ grant_type: 'refresh_token', refresh_token: u.refreshToken }),
    )
    expect(res.status).toBe(200)
    const again = await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } })
    expectProblem(again, 401, 'unauthorized')
  })
})

describe('the session lifecycle', () => {
  test('register → login → me → refresh → reuse kills the session → logout → logout-all', async () => {
    const u = await createUser(ctx)
    // A second device.
    const login = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: u.password },
    })
    const second = login.body

    const me = await ctx.call('GET', '/api/v1/users/me', { token: u.token })
    expect(me.status).toBe(200)
    expect(me.body.username).toBe(u.username)

    const refreshed = await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.refresh_token).not.toBe(u.refreshToken)

    // The old refresh token no longer works…
    const old = await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } })
    expectProblem(old, 401, 'unauthorized')
    // …and presenting it revoked the whole session: the new tokens die too.
    const newRefresh = await ctx.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: refreshed.body.refresh_token },
    })
    expectProblem(newRefresh, 401, 'unauthorized')
    const newAccess = await ctx.call('GET', '/api/v1/users/me', { token: refreshed.body.access_token })
    expectProblem(newAccess, 401, 'unauthorized')

    // The second device is untouched; logout ends it at once.
    expect((await ctx.call('GET', '/api/v1/users/me', { token: second.access_token })).status).toBe(200)
    const third = (
      await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: u.password },
      })
    ).body
    expect((await ctx.call('POST', '/api/v1/auth/logout', { token: second.access_token })).status).toBe(204)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: second.access_token }), 401, 'unauthorized')
    expectProblem(
      await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: second.refresh_token } }),
      401,
      'unauthorized',
    )
    // A third session still works until logout-all.
    expect((await ctx.call('GET', '/api/v1/users/me', { token: third.access_token })).status).toBe(200)
    const fourth = (
      await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: u.password },
      })
    ).body
    expect((await ctx.call('POST', '/api/v1/auth/logout-all', { token: fourth.access_token })).status).toBe(204)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: third.access_token }), 401, 'unauthorized')
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: fourth.access_token }), 401, 'unauthorized')
  })

  test('parallel refreshes with one token: at most one succeeds', async () => {
    const u = await createUser(ctx)
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } }),
      ),
    )
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1)
    expect(results.every((r) => r.status === 200 || r.status === 401)).toBe(true)
  })

  test('sessions: list with current flag, end another one, another user’s is 404', async () => {
    const u = await createUser(ctx)
    const other = await createUser(ctx)
    const second = (
      await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: u.password },
        headers: { 'user-agent': 'phone' },
      })
    ).body
    const list = await ctx.call('GET', '/api/v1/auth/sessions', { token: u.token })
    expect(list.status).toBe(200)
    expect(list.body.items).toHaveLength(2)
    expect(list.body.items.filter((s: { current: boolean }) => s.current)).toHaveLength(1)
    const phone = list.body.items.find((s: { user_agent: string }) => s.user_agent === 'phone')
    expectProblem(
      await ctx.call('DELETE', `/api/v1/auth/sessions/${phone.id}`, { token: other.token }),
      404,
      'not_found',
    )
    expect((await ctx.call('DELETE', `/api/v1/auth/sessions/${phone.id}`, { token: u.token })).status).toBe(204)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: second.access_token }), 401, 'unauthorized')
    expect((await ctx.call('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
  })

  test('password change ends every other session; the old password stops working', async () => {
    const u = await createUser(ctx)
    const second = (
      await ctx.call('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: u.username, password: u.password },
      })
    ).body
    const wrong = await ctx.call('POST', '/api/v1/auth/password', {
      token: u.token,
      body: { current_password: 'not it at all', new_password: 'brand new password' },
    })
    expect(expectProblem(wrong, 422, 'validation_failed').errors[0].field).toBe('current_password')
    const ok = await ctx.call('POST', '/api/v1/auth/password', {
      token: u.token,
      body: { current_password: u.password, new_password: 'brand new password' },
    })
    expect(ok.status).toBe(204)
    expect((await ctx.call('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: second.access_token }), 401, 'unauthorized')
    const oldLogin = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: u.password },
    })
    expectProblem(oldLogin, 401, 'unauthorized')
    const newLogin = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: u.username, password: 'brand new password' },
    })
    expect(newLogin.status).toBe(200)
  })
})

describe('forged and foreign tokens', () => {
  const sign = async (
    claims: Record<string, unknown>,
    options: {
      alg?: string
      key?: Uint8Array
      typ?: string
      exp?: number | null
      header?: Record<string, unknown>
      iss?: string
      aud?: string
      nbf?: number
    } = {},
  ) => {
    let jwt = new SignJWT(claims).setProtectedHeader({
      alg: options.alg ?? 'HS256',
      typ: options.typ ?? 'at+jwt',
      ...options.header,
    })
    jwt = jwt
      .setIssuedAt()
      .setIssuer(options.iss ?? 'pamps')
      .setAudience(options.aud ?? 'pamps-api')
    if (options.nbf) jwt = jwt.setNotBefore(options.nbf)
    if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600)
    return jwt.sign(options.key ?? secret)
  }

  test('each forgery is 401', async () => {
    const u = await createUser(ctx)
    const [, payload] = u.token.split('.')
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString())
    const base = { sub: claims.sub, sid: claims.sid, jti: 'x', typ: 'access' }
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const forged: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims })}.`,
      'tampered payload': `${u.token.split('.')[0]}.${b64({ ...claims, sub: '999' })}.${u.token.split('.')[2]}`,
      'wrong secret': await sign(base, {
        key: new TextEncoder().encode('another-secret-another-secret-another-secret'),
      }),
      HS512: await sign(base, { alg: 'HS512' }),
      HS384: await sign(base, { alg: 'HS384' }),
      expired: await sign(base, { exp: Math.floor(Date.now() / 1000) - 10 }),
      'missing exp': await sign(base, { exp: null }),
      'refresh as access': u.refreshToken,
      'typ claim refresh': await sign({ ...base, typ: 'refresh' }),
      'jku injection': await sign(base, { header: { jku: 'https://evil.example/jwks.json', kid: 'x' } }),
      'kid injection': await sign(base, { header: { kid: '../../dev/null' } }),
      'future nbf': await sign(base, { nbf: Math.floor(Date.now() / 1000) + 3600 }),
      'wrong issuer': await sign(base, { iss: 'someone-else' }),
      'wrong audience': await sign(base, { aud: 'another-api' }),
      'wrong header typ': await sign(base, { typ: 'JWT' }),
      'unknown session': await sign({ ...base, sid: 'no-such-session' }),
      garbage: 'not.a.jwt',
    }
    for (const [name, token] of Object.entries(forged)) {
      const res = await ctx.call('GET', '/api/v1/users/me', { token })
      if (res.status !== 401) throw new Error(`${name}: expected 401, got ${res.status}`)
      expect(res.headers.get('content-type')).toStartWith('application/problem+json')
    }
    const expired = await ctx.call('GET', '/api/v1/users/me', { token: forged.expired })
    expect(expired.body.code).toBe('token_expired')
  })

  test('an access token is not a refresh token', async () => {
    const u = await createUser(ctx)
    const res = await ctx.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.token } })
    expectProblem(res, 401, 'unauthorized')
  })

  test('a malformed Authorization header is 401', async () => {
    const res = await ctx.call('GET', '/api/v1/users/me', { headers: { authorization: 'Basic abc' } })
    expectProblem(res, 401, 'unauthorized')
    const none = await ctx.call('GET', '/api/v1/users/me')
    expectProblem(none, 401, 'unauthorized')
    expect(none.headers.get('www-authenticate')).toStartWith('Bearer')
  })

  test('a deleted user’s token is 401', async () => {
    const u = await createUser(ctx)
    const del = await ctx.call('DELETE', '/api/v1/users/me', { token: u.token, body: { password: u.password } })
    expect(del.status).toBe(204)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: u.token }), 401, 'unauthorized')
    expectProblem(await ctx.call('GET', `/api/v1/users/${u.username}`), 404, 'not_found')
  })
})

describe('admin', () => {
  test('non-admins get 403 on /admin; an admin disables a user, whose token dies at once and who cannot sign in', async () => {
    const admin = await createUser(ctx)
    const victim = await createUser(ctx)
    expectProblem(await ctx.call('GET', '/api/v1/admin/users', { token: victim.token }), 403, 'forbidden')
    expectProblem(await ctx.call('GET', '/api/v1/admin/users'), 401, 'unauthorized')
    await makeAdmin(ctx, admin)

    const list = await ctx.call('GET', `/api/v1/admin/users?q=${victim.username}`, { token: admin.token })
    expect(list.status).toBe(200)
    expect(list.body.items[0]).toMatchObject({ username: victim.username, email: victim.email })

    const disabled = await ctx.call('PATCH', `/api/v1/admin/users/${victim.username}`, {
      token: admin.token,
      body: { disabled: true },
    })
    expect(disabled.status).toBe(200)
    expect(disabled.body.disabled).toBe(true)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: victim.token }), 401, 'unauthorized')
    const login = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: victim.username, password: victim.password },
    })
    expectProblem(login, 403, 'account_disabled')
    expectProblem(await ctx.call('GET', `/api/v1/users/${victim.username}`), 404, 'not_found')

    // Re-enabled: can sign in again.
    await ctx.call('PATCH', `/api/v1/admin/users/${victim.username}`, { token: admin.token, body: { disabled: false } })
    const again = await ctx.call('POST', '/api/v1/auth/token', {
      body: { grant_type: 'password', username: victim.username, password: victim.password },
    })
    expect(again.status).toBe(200)
  })

  test('PATCH validates its body and 404s unknown users', async () => {
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const bad = await ctx.call('PATCH', '/api/v1/admin/users/whoever', { token: admin.token, body: { role: 'root' } })
    expectProblem(bad, 422, 'validation_failed')
    const unknown = await ctx.call('PATCH', '/api/v1/admin/users/nobody_at_all', {
      token: admin.token,
      body: { role: 'admin' },
    })
    expectProblem(unknown, 404, 'not_found')
    const extra = await ctx.call('PATCH', '/api/v1/admin/users/whoever', {
      token: admin.token,
      body: { email: 'x@y.z' },
    })
    expectProblem(extra, 422, 'validation_failed')
  })

  test('an admin sees another user’s email; users never do', async () => {
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const other = await createUser(ctx)
    const asUser = await ctx.call('GET', `/api/v1/users?q=${other.username}`, { token: (await createUser(ctx)).token })
    expect(asUser.text).not.toContain(other.email)
    const profile = await ctx.call('GET', `/api/v1/users/${other.username}`, { token: admin.token })
    expect(profile.text).not.toContain(other.email)
  })
})

describe('verified access tokens', () => {
  test('a token accepted once is still refused after it expires, and a session ended meanwhile ends it', async () => {
    const u = await createUser(ctx)
    expect((await ctx.call('GET', '/api/v1/users/me', { token: u.token })).status).toBe(200)
    setSystemTime(new Date(Date.now() + 2 * 60 * 60 * 1000))
    try {
      const later = await ctx.call('GET', '/api/v1/users/me', { token: u.token })
      expect(later.status).toBe(401)
      expect(later.body.code).toBe('token_expired')
    } finally {
      setSystemTime()
    }
    const other = await createUser(ctx)
    expect((await ctx.call('GET', '/api/v1/users/me', { token: other.token })).status).toBe(200)
    expect((await ctx.call('POST', '/api/v1/auth/logout', { token: other.token })).status).toBe(204)
    expectProblem(await ctx.call('GET', '/api/v1/users/me', { token: other.token }), 401, 'unauthorized')
  })
})

import type { TestContext } from './helpers'

let counter = 0

export interface TestUser {
  id: string
  username: string
  email: string
  password: string
  token: string
  refreshToken: string
}

/** Registers a fresh user through the API and returns its tokens. */
export async function createUser(
  ctx: TestContext,
  overrides: { username?: string; email?: string; password?: string; display_name?: string } = {},
): Promise<TestUser> {
  counter++
  const username = overrides.username ?? `user_${counter}_${Math.random().toString(36).slice(2, 8)}`
  const email = overrides.email ?? `${username}@example.com`
  const password = overrides.password ?? 'correct horse battery'
  const res = await ctx.call('POST', '/api/v1/auth/register', {
    body: { username, email, password, ...(overrides.display_name ? { display_name: overrides.display_name } : {}) },
  })
  if (res.status !== 201) throw new Error(`createUser failed: ${res.status} ${res.text}`)
  return {
    id: res.body.user.id,
    username,
    email,
    password,
    token: res.body.access_token,
    refreshToken: res.body.refresh_token,
  }
}

/** Makes a user an admin directly in the database (no API can), and signs them in again. */
export async function makeAdmin(ctx: TestContext, user: TestUser): Promise<void> {
  await ctx.database.client.execute({ sql: "UPDATE users SET role = 'admin' WHERE id = ?", args: [Number(user.id)] })
}

/** mulberry32: a small reproducible stream in [0, 1), for randomized tests that must replay. */
export function seededRandom(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

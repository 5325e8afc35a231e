import { describe, expect, test } from 'bun:test'
import { nextPageTarget } from '../src/http/pagination'
import { createUser, type TestUser } from './factories'
import { type CallResult, createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

async function createPost(user: TestUser, text: string) {
  const res = await ctx.call('POST', '/api/v1/posts', { token: user.token, body: { text } })
  if (res.status !== 201) throw new Error(`createPost failed: ${res.status} ${res.text}`)
  return res.body as { id: string }
}

const ids = (res: CallResult) => res.body.items.map((p: { id: string }) => p.id) as string[]

/** Reads a list 10 at a time, creating `interleave()` posts between pages; returns every id seen. */
async function readAll(path: string, token: string | undefined, interleave: () => Promise<unknown>) {
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const sep = path.includes('?') ? '&' : '?'
    const res = await ctx.call('GET', `${path}${sep}limit=10${cursor ? `&cursor=${cursor}` : ''}`, { token })
    expect(res.status).toBe(200)
    seen.push(...ids(res))
    cursor = res.body.next_cursor
    if (cursor) {
      const link = res.headers.get('link')
      expect(link).toContain(`cursor=${cursor}`)
      expect(link).toEndWith('; rel="next"')
    } else {
      expect(res.headers.get('link')).toBeNull()
    }
    pages++
    await interleave()
  } while (cursor)
  return { seen, pages }
}

describe('keyset pagination', () => {
  const authorP = createUser(ctx)
  const readerP = createUser(ctx)

  test('a 45-post feed read 10 at a time returns every post exactly once, newest first, while new posts arrive', async () => {
    const author = await authorP
    const reader = await readerP
    await ctx.call('PUT', `/api/v1/users/${author.username}/follow`, { token: reader.token })
    const original: string[] = []
    for (let i = 0; i < 45; i++) original.push((await createPost(author, `post ${i}`)).id)
    const expected = [...original].reverse()
    let n = 0
    const newcomer = () => createPost(author, `new ${n++}`)

    // Three feeds read side by side from the top, 10 at a time, with a new post after every round.
    const lists = [
      { path: '/api/v1/posts', token: undefined as string | undefined },
      { path: '/api/v1/timeline', token: reader.token as string | undefined },
      { path: `/api/v1/users/${author.username}/posts`, token: undefined as string | undefined },
    ].map((l) => ({ ...l, seen: [] as string[], cursor: null as string | null, pages: 0, done: false }))
    while (lists.some((l) => !l.done)) {
      for (const l of lists.filter((x) => !x.done)) {
        const res = await ctx.call('GET', `${l.path}?limit=10${l.cursor ? `&cursor=${l.cursor}` : ''}`, {
          token: l.token,
        })
        expect(res.status).toBe(200)
        l.seen.push(...ids(res))
        l.pages++
        l.cursor = res.body.next_cursor
        if (l.cursor) expect(res.headers.get('link')).toBe(`<${l.path}?limit=10&cursor=${l.cursor}>; rel="next"`)
        else expect(res.headers.get('link')).toBeNull()
        l.done = l.cursor === null
      }
      await newcomer()
    }
    for (const l of lists) {
      expect(l.seen).toEqual(expected)
      expect(l.pages).toBe(5)
    }
    expect(n).toBe(5)
    // The newcomers are all there for the next reader, newest first.
    expect(ids(await ctx.call('GET', '/api/v1/posts?limit=5'))).toHaveLength(5)
  })

  test('a first page read from the top also never repeats or skips an item when posts arrive between pages', async () => {
    const author = await createUser(ctx)
    const before = new Set(ids(await ctx.call('GET', '/api/v1/posts?limit=100')))
    for (let i = 0; i < 25; i++) await createPost(author, `top ${i}`)
    const { seen } = await readAll(`/api/v1/users/${author.username}/posts`, undefined, () =>
      createPost(author, 'late'),
    )
    expect(seen).toHaveLength(25)
    expect(new Set(seen).size).toBe(25)
    const numeric = seen.map(Number)
    expect(numeric).toEqual([...numeric].sort((a, b) => b - a))
    expect(seen.some((id) => before.has(id))).toBe(false)
  })

  test('the Link header keeps the other query parameters', async () => {
    const res = await ctx.call('GET', '/api/v1/posts?include_replies=true&limit=2')
    expect(res.headers.get('link')).toMatch(
      /^<\/api\/v1\/posts\?include_replies=true&limit=2&cursor=[A-Za-z0-9_-]+>; rel="next"$/,
    )
  })

  test('the Link target replaces an earlier cursor, keeps the rest encoded, and is a path', () => {
    const base = 'http://127.0.0.1:3000'
    expect(nextPageTarget(`${base}/api/v1/posts`, 'abc')).toBe('/api/v1/posts?cursor=abc')
    expect(nextPageTarget(`${base}/api/v1/posts?cursor=old&limit=5`, 'new')).toBe('/api/v1/posts?cursor=new&limit=5')
    expect(nextPageTarget(`${base}/api/v1/users/a%20b/posts?q=x%26y&limit=2`, 'c')).toBe(
      '/api/v1/users/a%20b/posts?q=x%26y&limit=2&cursor=c',
    )
    for (const url of [`${base}/api/v1/posts?limit=2&include_replies=true`, `${base}/x?a=1&a=2&b=%C3%A9`]) {
      const expected = new URL(url)
      expected.searchParams.set('cursor', 'k')
      expect(nextPageTarget(url, 'k')).toBe(`${expected.pathname}${expected.search}`)
    }
  })

  test('limit is 1 to 100, default 20; anything else is 422', async () => {
    expect((await ctx.call('GET', '/api/v1/posts')).body.items).toHaveLength(20)
    expect((await ctx.call('GET', '/api/v1/posts?limit=1')).body.items).toHaveLength(1)
    expect((await ctx.call('GET', '/api/v1/posts?limit=100')).status).toBe(200)
    const reader = await readerP
    for (const limit of ['0', '101', '-1', 'abc', '1.5', '']) {
      for (const path of ['/api/v1/posts', '/api/v1/timeline']) {
        const res = await ctx.call('GET', `${path}?limit=${limit}`, { token: reader.token })
        expect(expectProblem(res, 422, 'validation_failed').errors[0].field).toBe('limit')
      }
    }
  })

  test('forged, foreign or stale cursors are 422, never 500', async () => {
    const reader = await readerP
    const author = await authorP
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const bad = [
      'garbage!',
      '%%%',
      'a'.repeat(600),
      Buffer.from('not json').toString('base64url'),
      b64({ posts: 1 }),
      b64(['posts']),
      b64(['posts', 1, 2]),
      b64(['posts', -5]),
      b64(['posts', 1.5]),
      b64(['posts', '10']),
      b64(['posts', 2 ** 60]),
      b64(['timeline', 10]),
      b64(['users', 'abc']),
    ]
    const paths = [
      ['/api/v1/posts', undefined],
      ['/api/v1/timeline', reader.token],
      [`/api/v1/users/${author.username}/posts`, undefined],
      [`/api/v1/users/${author.username}/likes`, undefined],
      [`/api/v1/users/${author.username}/followers`, undefined],
    ] as const
    for (const cursor of bad) {
      for (const [path, token] of paths) {
        const res = await ctx.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, { token })
        // Each list only accepts its own cursors; ['posts', n] is valid for /posts and ['timeline', n] for /timeline.
        const own =
          (path === '/api/v1/posts' && cursor === b64(['posts', 10])) ||
          (path === '/api/v1/timeline' && cursor === b64(['timeline', 10]))
        if (own) expect(res.status).toBe(200)
        else expect(res.status).toBe(422)
        if (res.status === 422) expect(res.body.code).toBe('validation_failed')
      }
    }
    // A stale cursor (its post since deleted) still pages on from where it was.
    const older = await createPost(author, 'kept')
    const p = await createPost(author, 'to be deleted')
    const stale = b64(['user-posts', Number(p.id)])
    await ctx.call('DELETE', `/api/v1/posts/${p.id}`, { token: author.token })
    const next = await ctx.call('GET', `/api/v1/users/${author.username}/posts?cursor=${stale}&limit=1`)
    expect(next.status).toBe(200)
    expect(next.body.items[0].id).toBe(older.id)
  })
})

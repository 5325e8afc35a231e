import { describe, expect, test } from 'bun:test'
import { createUser, makeAdmin, type TestUser } from './factories'
import { createTestContext, expectProblem } from './helpers'

const ctx = await createTestContext()

async function createPost(user: TestUser, text = 'hello', replyTo?: string) {
  const res = await ctx.call('POST', '/api/v1/posts', {
    token: user.token,
    body: { text, ...(replyTo ? { reply_to_id: replyTo } : {}) },
  })
  if (res.status !== 201) throw new Error(`createPost failed: ${res.status} ${res.text}`)
  return res.body
}

const postCount = async () => Number((await ctx.database.client.execute('SELECT count(*) AS n FROM posts')).rows[0]?.n)

describe('POST /posts', () => {
  test('creates a post with the contract shape, trimmed text and string ids', async () => {
    const u = await createUser(ctx, { display_name: 'Alice' })
    const res = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: '  Hello, world!\n ' } })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({
      id: expect.stringMatching(/^\d+$/),
      text: 'Hello, world!',
      author: { id: u.id, username: u.username, display_name: 'Alice', avatar_url: null },
      reply_to_id: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      edited_at: null,
      likes_count: 0,
      replies_count: 0,
      liked_by_me: false,
    })
    const profile = await ctx.call('GET', `/api/v1/users/${u.username}`)
    expect(profile.body.posts_count).toBe(1)
  })

  test('text is 1 to 500 Unicode code points after trimming', async () => {
    const u = await createUser(ctx)
    const emoji500 = '😀'.repeat(500) // 1000 UTF-16 units, 500 code points
    const ok = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: `  ${emoji500}  ` } })
    expect(ok.status).toBe(201)
    expect(ok.body.text).toBe(emoji500)
    expect((await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'x'.repeat(500) } })).status).toBe(
      201,
    )
    for (const text of ['', '   \n\t ', 'x'.repeat(501), '😀'.repeat(501)]) {
      const res = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text } })
      const problem = expectProblem(res, 422, 'validation_failed')
      expect(problem.errors).toEqual([{ field: 'text', message: 'must be 1 to 500 characters' }])
    }
  })

  test('rejects unknown fields, wrong types and a missing text with 422, creating nothing', async () => {
    const u = await createUser(ctx)
    const before = await postCount()
    for (const body of [
      {},
      { text: 42 },
      { text: 'hi', likes_count: 10 },
      { text: 'hi', author_id: '1' },
      { text: 'hi', id: '99' },
      { text: 'hi', reply_to_id: 5 },
    ]) {
      expectProblem(await ctx.call('POST', '/api/v1/posts', { token: u.token, body }), 422, 'validation_failed')
    }
    expectProblem(
      await ctx.call('POST', '/api/v1/posts', {
        token: u.token,
        raw: '{"text":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'malformed_json',
    )
    expect(await postCount()).toBe(before)
  })

  test('needs authentication', async () => {
    const res = await ctx.call('POST', '/api/v1/posts', { body: { text: 'hi' } })
    expectProblem(res, 401, 'unauthorized')
    expect(res.headers.get('www-authenticate')).toContain('Bearer')
    expectProblem(
      await ctx.call('POST', '/api/v1/posts', { token: 'not-a-token', body: { text: 'hi' } }),
      401,
      'unauthorized',
    )
  })

  test('a reply names its parent and counts in replies_count; an unknown parent is 422', async () => {
    const a = await createUser(ctx)
    const b = await createUser(ctx)
    const parent = await createPost(a, 'parent')
    const reply = await createPost(b, 'reply', parent.id)
    expect(reply.reply_to_id).toBe(parent.id)
    expect((await ctx.call('GET', `/api/v1/posts/${parent.id}`)).body.replies_count).toBe(1)
    for (const reply_to_id of ['999999', 'abc', '0', '-1', '1e3']) {
      const res = await ctx.call('POST', '/api/v1/posts', { token: b.token, body: { text: 'x', reply_to_id } })
      expect(expectProblem(res, 422, 'validation_failed').errors).toEqual([
        { field: 'reply_to_id', message: 'does not name a post' },
      ])
    }
    const nullReply = await ctx.call('POST', '/api/v1/posts', {
      token: b.token,
      body: { text: 'x', reply_to_id: null },
    })
    expect(nullReply.status).toBe(201)
    expect(nullReply.body.reply_to_id).toBeNull()
  })
})

describe('Idempotency-Key', () => {
  test('a retry with the same key returns the first post (201) and creates nothing', async () => {
    const u = await createUser(ctx)
    const headers = { 'idempotency-key': 'retry-1' }
    const first = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'once' }, headers })
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const before = await postCount()
    const again = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'once' }, headers })
    expect(again.status).toBe(201)
    expect(again.body).toEqual(first.body)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await postCount()).toBe(before)
    expect((await ctx.call('GET', `/api/v1/users/${u.username}`)).body.posts_count).toBe(1)
  })

  test('the same key with a different body is 422; another user may use the same key', async () => {
    const u = await createUser(ctx)
    const other = await createUser(ctx)
    const headers = { 'idempotency-key': 'shared-key' }
    const first = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'one' }, headers })
    expect(first.status).toBe(201)
    const changed = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'two' }, headers })
    expect(expectProblem(changed, 422, 'validation_failed').errors[0].field).toBe('idempotency-key')
    const theirs = await ctx.call('POST', '/api/v1/posts', { token: other.token, body: { text: 'one' }, headers })
    expect(theirs.status).toBe(201)
    expect(theirs.body.id).not.toBe(first.body.id)
  })

  test('a key longer than 255 characters is 422; 255 is fine', async () => {
    const u = await createUser(ctx)
    const long = await ctx.call('POST', '/api/v1/posts', {
      token: u.token,
      body: { text: 'x' },
      headers: { 'idempotency-key': 'k'.repeat(256) },
    })
    expectProblem(long, 422, 'validation_failed')
    const ok = await ctx.call('POST', '/api/v1/posts', {
      token: u.token,
      body: { text: 'x' },
      headers: { 'idempotency-key': 'k'.repeat(255) },
    })
    expect(ok.status).toBe(201)
  })

  test('two identical requests at once create exactly one post, and neither fails', async () => {
    const u = await createUser(ctx)
    const before = await postCount()
    const send = () =>
      ctx.call('POST', '/api/v1/posts', {
        token: u.token,
        body: { text: 'concurrent' },
        headers: { 'idempotency-key': 'race-1' },
      })
    const results = await Promise.all([send(), send()])
    expect(results.map((r) => r.status)).toEqual([201, 201])
    expect(results[0]?.body.id).toBe(results[1]?.body.id)
    expect(await postCount()).toBe(before + 1)
    // And a burst of ten.
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        ctx.call('POST', '/api/v1/posts', {
          token: u.token,
          body: { text: 'burst' },
          headers: { 'idempotency-key': 'race-2' },
        }),
      ),
    )
    expect(new Set(burst.map((r) => r.status))).toEqual(new Set([201]))
    expect(new Set(burst.map((r) => r.body.id)).size).toBe(1)
    expect(await postCount()).toBe(before + 2)
  })

  test('a key is remembered for 24 hours only', async () => {
    const u = await createUser(ctx)
    const headers = { 'idempotency-key': 'old-key' }
    const first = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'day one' }, headers })
    await ctx.database.client.execute({
      sql: 'UPDATE idempotency_keys SET created_at = created_at - 25 * 3600 * 1000 WHERE user_id = ?',
      args: [Number(u.id)],
    })
    const later = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'day one' }, headers })
    expect(later.status).toBe(201)
    expect(later.body.id).not.toBe(first.body.id)
  })

  test('a failed request does not burn its key; a key whose post was deleted is 409', async () => {
    const u = await createUser(ctx)
    const headers = { 'idempotency-key': 'fix-and-retry' }
    const bad = await ctx.call('POST', '/api/v1/posts', {
      token: u.token,
      body: { text: 'r', reply_to_id: '99999999' },
      headers,
    })
    expectProblem(bad, 422, 'validation_failed')
    const good = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'r' }, headers })
    expect(good.status).toBe(201)
    expect((await ctx.call('DELETE', `/api/v1/posts/${good.body.id}`, { token: u.token })).status).toBe(204)
    const replay = await ctx.call('POST', '/api/v1/posts', { token: u.token, body: { text: 'r' }, headers })
    expectProblem(replay, 409, 'conflict')
  })
})

describe('GET /posts/:id', () => {
  test('is public; liked_by_me only for an authenticated caller', async () => {
    const u = await createUser(ctx)
    const p = await createPost(u)
    const anon = await ctx.call('GET', `/api/v1/posts/${p.id}`)
    expect(anon.status).toBe(200)
    expect(anon.body.liked_by_me).toBeUndefined()
    expect(anon.body).toMatchObject({ id: p.id, text: 'hello' })
    const authed = await ctx.call('GET', `/api/v1/posts/${p.id}`, { token: u.token })
    expect(authed.body.liked_by_me).toBe(false)
  })

  test('unknown or malformed ids are 404; a bad token is 401', async () => {
    for (const id of ['99999999', 'abc', '0', '1.5', '123456789012345678901234'])
      expectProblem(await ctx.call('GET', `/api/v1/posts/${id}`), 404, 'not_found')
    const p = await createPost(await createUser(ctx))
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}`, { token: 'garbage' }), 401, 'unauthorized')
  })
})

describe('GET /posts (global feed)', () => {
  test('is newest first, top-level only by default; include_replies=true adds replies', async () => {
    const u = await createUser(ctx)
    const root = await createPost(u, 'feed root')
    const reply = await createPost(u, 'feed reply', root.id)
    const top = await ctx.call('GET', '/api/v1/posts?limit=100')
    expect(top.status).toBe(200)
    const ids = top.body.items.map((p: { id: string }) => p.id)
    expect(ids).toContain(root.id)
    expect(ids).not.toContain(reply.id)
    expect(top.body.items.every((p: { reply_to_id: string | null }) => p.reply_to_id === null)).toBe(true)
    const numeric = ids.map(Number)
    expect(numeric).toEqual([...numeric].sort((a, b) => b - a))
    const all = await ctx.call('GET', '/api/v1/posts?include_replies=true&limit=2')
    expect(all.body.items.map((p: { id: string }) => p.id)).toEqual([reply.id, root.id])
    expectProblem(await ctx.call('GET', '/api/v1/posts?include_replies=maybe'), 422, 'validation_failed')
  })
})

describe('PATCH /posts/:id', () => {
  test('the author edits: edited_at is set and the previous versions are kept', async () => {
    const u = await createUser(ctx)
    const p = await createPost(u, 'first')
    const res = await ctx.call('PATCH', `/api/v1/posts/${p.id}`, { token: u.token, body: { text: ' second ' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: p.id, text: 'second', created_at: p.created_at, liked_by_me: false })
    expect(res.body.edited_at).toEqual(expect.any(String))
    expect(Date.parse(res.body.edited_at)).toBeGreaterThanOrEqual(Date.parse(p.created_at))
    await ctx.call('PATCH', `/api/v1/posts/${p.id}`, { token: u.token, body: { text: 'third' } })
    const history = await ctx.call('GET', `/api/v1/posts/${p.id}/history`)
    expect(history.status).toBe(200)
    expect(history.body.items.map((v: { text: string }) => v.text)).toEqual(['first', 'second'])
    expect(history.body.items[0].created_at).toBe(p.created_at)
    expect(history.body.items[1].created_at).toBe(res.body.edited_at)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.text).toBe('third')
    const paged = await ctx.call('GET', `/api/v1/posts/${p.id}/history?limit=1`)
    expect(paged.body.items).toHaveLength(1)
    const rest = await ctx.call('GET', `/api/v1/posts/${p.id}/history?limit=1&cursor=${paged.body.next_cursor}`)
    expect(rest.body.items.map((v: { text: string }) => v.text)).toEqual(['second'])
    expectProblem(await ctx.call('GET', '/api/v1/posts/99999999/history'), 404, 'not_found')
  })

  test("someone else's post is 403 and unchanged; unknown is 404; anonymous is 401", async () => {
    const author = await createUser(ctx)
    const other = await createUser(ctx)
    const p = await createPost(author, 'mine')
    expectProblem(
      await ctx.call('PATCH', `/api/v1/posts/${p.id}`, { token: other.token, body: { text: 'hacked' } }),
      403,
      'forbidden',
    )
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body).toMatchObject({ text: 'mine', edited_at: null })
    expectProblem(
      await ctx.call('PATCH', '/api/v1/posts/99999999', { token: other.token, body: { text: 'x' } }),
      404,
      'not_found',
    )
    expectProblem(await ctx.call('PATCH', `/api/v1/posts/${p.id}`, { body: { text: 'x' } }), 401, 'unauthorized')
  })

  test('text bounds and unknown fields are 422', async () => {
    const u = await createUser(ctx)
    const p = await createPost(u)
    for (const body of [
      { text: '' },
      { text: '  ' },
      { text: 'x'.repeat(501) },
      {},
      { text: 'ok', reply_to_id: null },
      { text: 'ok', likes_count: 1 },
    ])
      expectProblem(
        await ctx.call('PATCH', `/api/v1/posts/${p.id}`, { token: u.token, body }),
        422,
        'validation_failed',
      )
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.edited_at).toBeNull()
  })
})

describe('DELETE /posts/:id', () => {
  test('the author deletes; replies stay and keep naming it; counters follow', async () => {
    const a = await createUser(ctx)
    const b = await createUser(ctx)
    const p = await createPost(a, 'to delete')
    const reply = await createPost(b, 'reply', p.id)
    await ctx.call('PUT', `/api/v1/posts/${p.id}/like`, { token: b.token })
    const del = await ctx.call('DELETE', `/api/v1/posts/${p.id}`, { token: a.token })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}`), 404, 'not_found')
    const kept = await ctx.call('GET', `/api/v1/posts/${reply.id}`)
    expect(kept.status).toBe(200)
    expect(kept.body.reply_to_id).toBe(p.id)
    expect((await ctx.call('GET', `/api/v1/users/${a.username}`)).body.posts_count).toBe(0)
    expectProblem(await ctx.call('DELETE', `/api/v1/posts/${p.id}`, { token: a.token }), 404, 'not_found')
    const likes = await ctx.database.client.execute({
      sql: 'SELECT count(*) AS n FROM likes WHERE post_id = ?',
      args: [Number(p.id)],
    })
    expect(Number(likes.rows[0]?.n)).toBe(0)
  })

  test("deleting a reply lowers its parent's replies_count", async () => {
    const a = await createUser(ctx)
    const p = await createPost(a)
    const r1 = await createPost(a, 'r1', p.id)
    await createPost(a, 'r2', p.id)
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.replies_count).toBe(2)
    await ctx.call('DELETE', `/api/v1/posts/${r1.id}`, { token: a.token })
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).body.replies_count).toBe(1)
  })

  test("someone else's post is 403; an admin may delete any post; anonymous is 401", async () => {
    const author = await createUser(ctx)
    const other = await createUser(ctx)
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const p = await createPost(author)
    expectProblem(await ctx.call('DELETE', `/api/v1/posts/${p.id}`, { token: other.token }), 403, 'forbidden')
    expectProblem(await ctx.call('DELETE', `/api/v1/posts/${p.id}`), 401, 'unauthorized')
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).status).toBe(200)
    expect((await ctx.call('DELETE', `/api/v1/posts/${p.id}`, { token: admin.token })).status).toBe(204)
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}`), 404, 'not_found')
    expectProblem(await ctx.call('DELETE', '/api/v1/posts/99999999', { token: admin.token }), 404, 'not_found')
  })
})

describe('replies and threads', () => {
  test('GET /posts/:id/replies lists direct replies oldest first, paginated', async () => {
    const u = await createUser(ctx)
    const root = await createPost(u, 'root')
    const replies = []
    for (let i = 0; i < 5; i++) replies.push(await createPost(u, `reply ${i}`, root.id))
    await createPost(u, 'nested', replies[0].id)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Awaited<ReturnType<typeof ctx.call>> = await ctx.call(
        'GET',
        `/api/v1/posts/${root.id}/replies?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      expect(page.status).toBe(200)
      seen.push(...page.body.items.map((p: { id: string }) => p.id))
      cursor = page.body.next_cursor
    } while (cursor)
    expect(seen).toEqual(replies.map((r) => r.id))
    expectProblem(await ctx.call('GET', '/api/v1/posts/99999999/replies'), 404, 'not_found')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${root.id}/replies?limit=0`), 422, 'validation_failed')
    expectProblem(await ctx.call('GET', `/api/v1/posts/${root.id}/replies?cursor=nope`), 422, 'validation_failed')
  })

  test('GET /posts/:id/context: ancestors root-first, descendants depth-first', async () => {
    const u = await createUser(ctx)
    const root = await createPost(u, 'root')
    const a = await createPost(u, 'a', root.id)
    const b = await createPost(u, 'b', root.id)
    const a1 = await createPost(u, 'a1', a.id)
    const a1x = await createPost(u, 'a1x', a1.id)
    const a2 = await createPost(u, 'a2', a.id)
    const b1 = await createPost(u, 'b1', b.id)
    const ofRoot = await ctx.call('GET', `/api/v1/posts/${root.id}/context`)
    expect(ofRoot.status).toBe(200)
    expect(ofRoot.body.ancestors).toEqual([])
    expect(ofRoot.body.descendants.map((p: { text: string }) => p.text)).toEqual(['a', 'a1', 'a1x', 'a2', 'b', 'b1'])
    const ofA1 = await ctx.call('GET', `/api/v1/posts/${a1.id}/context`, { token: u.token })
    expect(ofA1.body.ancestors.map((p: { id: string }) => p.id)).toEqual([root.id, a.id])
    expect(ofA1.body.descendants.map((p: { id: string }) => p.id)).toEqual([a1x.id])
    expect(ofA1.body.ancestors[0].liked_by_me).toBe(false)
    const ofLeaf = await ctx.call('GET', `/api/v1/posts/${a1x.id}/context`)
    expect(ofLeaf.body.ancestors.map((p: { text: string }) => p.text)).toEqual(['root', 'a', 'a1'])
    expect(ofLeaf.body.descendants).toEqual([])
    expect(a2.reply_to_id).toBe(a.id)
    expect(b1.reply_to_id).toBe(b.id)
    expectProblem(await ctx.call('GET', '/api/v1/posts/99999999/context'), 404, 'not_found')
  })

  test('context is bounded to 200 descendants and costs a constant number of queries', async () => {
    const u = await createUser(ctx)
    const root = await createPost(u, 'big thread')
    // 210 replies straight in the database (the API path is tested above).
    await ctx.database.client.execute({
      sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 210)
            INSERT INTO posts (author_id, text, reply_to_id, created_at) SELECT ?, 'r' || i, ?, 0 FROM n`,
      args: [Number(u.id), Number(root.id)],
    })
    ctx.queries.length = 0
    const res = await ctx.call('GET', `/api/v1/posts/${root.id}/context`, { token: u.token })
    expect(res.status).toBe(200)
    expect(res.body.descendants).toHaveLength(200)
    expect(res.body.descendants[0].text).toBe('r1')
    expect(res.body.descendants[199].text).toBe('r200')
    expect(ctx.queries.length).toBeLessThanOrEqual(4)
  })
})

describe('disabled authors', () => {
  test("a disabled account's posts are hidden (404), and come back when it is enabled", async () => {
    const admin = await createUser(ctx)
    await makeAdmin(ctx, admin)
    const spammer = await createUser(ctx)
    const p = await createPost(spammer, 'spam')
    const off = await ctx.call('PATCH', `/api/v1/admin/users/${spammer.username}`, {
      token: admin.token,
      body: { disabled: true },
    })
    expect(off.status).toBe(200)
    expectProblem(await ctx.call('GET', `/api/v1/posts/${p.id}`), 404, 'not_found')
    const feed = await ctx.call('GET', '/api/v1/posts?limit=100')
    expect(feed.body.items.map((x: { id: string }) => x.id)).not.toContain(p.id)
    expectProblem(
      await ctx.call('POST', '/api/v1/posts', { token: admin.token, body: { text: 're', reply_to_id: p.id } }),
      422,
      'validation_failed',
    )
    await ctx.call('PATCH', `/api/v1/admin/users/${spammer.username}`, {
      token: admin.token,
      body: { disabled: false },
    })
    expect((await ctx.call('GET', `/api/v1/posts/${p.id}`)).status).toBe(200)
  })
})

describe('OpenAPI', () => {
  test('every social route is documented with a summary, its responses and its problems', async () => {
    const doc = (await ctx.call('GET', '/docs/json')).body
    const routes: Array<[string, string, string[]]> = [
      ['/api/v1/posts', 'post', ['201', '401', '422']],
      ['/api/v1/posts', 'get', ['200', '422']],
      ['/api/v1/posts/{id}', 'get', ['200', '404']],
      ['/api/v1/posts/{id}', 'patch', ['200', '401', '403', '404', '422']],
      ['/api/v1/posts/{id}', 'delete', ['204', '401', '403', '404']],
      ['/api/v1/posts/{id}/replies', 'get', ['200', '404', '422']],
      ['/api/v1/posts/{id}/context', 'get', ['200', '404']],
      ['/api/v1/posts/{id}/history', 'get', ['200', '404']],
      ['/api/v1/posts/{id}/like', 'put', ['200', '401', '404']],
      ['/api/v1/posts/{id}/like', 'delete', ['200', '401', '404']],
      ['/api/v1/posts/{id}/likes', 'get', ['200', '404', '422']],
      ['/api/v1/timeline', 'get', ['200', '401', '422']],
      ['/api/v1/users/{username}/posts', 'get', ['200', '404', '422']],
      ['/api/v1/users/{username}/likes', 'get', ['200', '404', '422']],
      ['/api/v1/users/{username}/followers', 'get', ['200', '404', '422']],
      ['/api/v1/users/{username}/following', 'get', ['200', '404', '422']],
      ['/api/v1/users/{username}/follow', 'put', ['200', '401', '404', '422']],
      ['/api/v1/users/{username}/follow', 'delete', ['200', '401', '404']],
    ]
    for (const [path, method, statuses] of routes) {
      const op = doc.paths[path]?.[method]
      expect(op, `${method} ${path}`).toBeDefined()
      expect(typeof op.summary).toBe('string')
      for (const s of statuses) expect(op.responses?.[s], `${method} ${path} ${s}`).toBeDefined()
    }
    expect(doc.paths['/api/v1/timeline'].get.security).toEqual([{ bearer: [] }])
    const create = doc.paths['/api/v1/posts'].post
    expect(JSON.stringify(create.parameters ?? [])).toContain('idempotency-key')
  })
})

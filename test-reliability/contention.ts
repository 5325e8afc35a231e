/**
 * Contention across processes: the server and several writer processes (test-reliability/
 * writer.ts, the services on the same file) write the same rows at once while HTTP clients do
 * the same through the server. Pass: no SQLITE_BUSY or other error in any writer, no 5xx to any
 * client, and every count exact.
 */
import { writeFileSync } from 'node:fs'
import { createClient } from '@libsql/client'
import { bun, freePort, http, must, pool, root, serverEnv, startServer, tempDir } from './lib'
import type { WriterJob } from './writer'

export interface ContentionResult {
  processes: number
  users: number
  operations: number
  seconds: number
  writer_errors: string[]
  http_5xx: number
  http_other_failures: number
  counts: Record<string, { expected: number; actual: number; rows: number }>
  pass: boolean
}

export async function contention(o: { writers: number; usersPerGroup: number; postsPerUser: number; toggles: number }) {
  const dir = tempDir('contention')
  const port = freePort()
  const databaseUrl = `file:${dir.path}/contention.db`
  const env = { PASSWORD_MEMORY_COST: '1024', PASSWORD_TIME_COST: '1', AUTH_RATE_LIMIT: '0', WRITE_RATE_LIMIT: '0' }
  const server = await startServer({ port, databaseUrl, env })
  try {
    const groups = o.writers + 1
    const all = await pool(
      Array.from({ length: groups * o.usersPerGroup + 1 }, (_, i) => i),
      8,
      async (i) => {
        const username = `cp_${i}`
        const r = await must(
          http(server.base, 'POST', '/api/v1/auth/register', {
            body: { username, email: `${username}@example.com`, password: 'password123' },
          }),
          201,
          'register',
        )
        return { id: Number(r.body.user.id), username, token: r.body.access_token as string }
      },
    )
    const hot = all.pop() as (typeof all)[number]
    const hotPost = Number(
      (await must(http(server.base, 'POST', '/api/v1/posts', { token: hot.token, body: { text: 'hot' } }), 201, 'post'))
        .body.id,
    )
    const togglePost = Number(
      (
        await must(
          http(server.base, 'POST', '/api/v1/posts', { token: hot.token, body: { text: 'toggle' } }),
          201,
          'post',
        )
      ).body.id,
    )
    const group = (g: number) => all.slice(g * o.usersPerGroup, (g + 1) * o.usersPerGroup)
    const started = performance.now()
    const writers = Array.from({ length: o.writers }, (_, g) => {
      const job: WriterJob = {
        users: group(g).map(({ id, username }) => ({ id, username })),
        hotPostId: hotPost,
        togglePostId: togglePost,
        hotUsername: hot.username,
        postsPerUser: o.postsPerUser,
        toggles: o.toggles,
      }
      const file = `${dir.path}/job-${g}.json`
      writeFileSync(file, JSON.stringify(job))
      return Bun.spawn([bun, 'test-reliability/writer.ts', file], {
        cwd: root,
        env: { ...serverEnv({ port, databaseUrl, env }), LOG_LEVEL: 'silent' },
        stdout: 'pipe',
        stderr: 'inherit',
      })
    })
    // The HTTP side: the last group, through the server, eight at a time.
    let http5xx = 0
    let httpOther = 0
    let httpOps = 0
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      try {
        const r = await http(server.base, method, path, { token, body, timeoutMs: 30_000 })
        if (r.status >= 500) http5xx++
        else if (r.status >= 300) httpOther++
        else httpOps++
      } catch {
        httpOther++
      }
    }
    await pool(group(o.writers), 8, async (u) => {
      await call('PUT', `/api/v1/posts/${hotPost}/like`, u.token)
      await call('PUT', `/api/v1/users/${hot.username}/follow`, u.token)
      for (let k = 0; k < o.postsPerUser; k++)
        await call('POST', '/api/v1/posts', u.token, { text: `h ${u.username} ${k}` })
      for (let k = 0; k < o.toggles; k++) {
        await call('DELETE', `/api/v1/posts/${togglePost}/like`, u.token)
        await call('PUT', `/api/v1/posts/${togglePost}/like`, u.token)
      }
    })
    const reports = await Promise.all(
      writers.map(async (w) => {
        const out = await new Response(w.stdout).text()
        const code = await w.exited
        if (code !== 0) return { ops: 0, errors: [`writer exited with ${code}: ${out}`] }
        return JSON.parse(out.trim().split('\n').pop() as string) as { ops: number; errors: string[] }
      }),
    )
    const seconds = (performance.now() - started) / 1000

    const db = createClient({ url: databaseUrl })
    const one = async (sql: string, args: number[] = []) => Number((await db.execute({ sql, args })).rows[0]?.n)
    const total = groups * o.usersPerGroup
    const counts: ContentionResult['counts'] = {
      hot_likes: {
        expected: total,
        actual: await one('SELECT likes_count AS n FROM posts WHERE id = ?', [hotPost]),
        rows: await one('SELECT count(*) AS n FROM likes WHERE post_id = ?', [hotPost]),
      },
      toggle_likes: {
        expected: total,
        actual: await one('SELECT likes_count AS n FROM posts WHERE id = ?', [togglePost]),
        rows: await one('SELECT count(*) AS n FROM likes WHERE post_id = ?', [togglePost]),
      },
      hot_followers: {
        expected: total,
        actual: await one('SELECT followers_count AS n FROM users WHERE id = ?', [hot.id]),
        rows: await one('SELECT count(*) AS n FROM follows WHERE followee_id = ?', [hot.id]),
      },
      posts: {
        expected: total * o.postsPerUser + 2,
        actual: await one('SELECT sum(posts_count) AS n FROM users'),
        rows: await one('SELECT count(*) AS n FROM posts'),
      },
    }
    db.close()
    const writerErrors = reports.flatMap((r) => r.errors)
    const exact = Object.values(counts).every((c) => c.expected === c.actual && c.actual === c.rows)
    return {
      processes: o.writers + 1,
      users: total,
      operations: reports.reduce((a, r) => a + r.ops, 0) + httpOps,
      seconds: Math.round(seconds * 10) / 10,
      writer_errors: writerErrors.slice(0, 10),
      http_5xx: http5xx,
      http_other_failures: httpOther,
      counts,
      pass: writerErrors.length === 0 && http5xx === 0 && httpOther === 0 && exact,
    } satisfies ContentionResult
  } finally {
    await server.stop()
    dir.remove()
  }
}

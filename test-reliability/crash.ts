/**
 * Crash durability: 16 workers send about 200 writes per second (posts, likes, follows) to a
 * real server; at a random moment the server is killed with SIGKILL. With the server down, the
 * database file is opened directly: every write acknowledged with a 2xx must be in it, and
 * `PRAGMA integrity_check` must say ok. The server restarts on the same file (and must be ready
 * within 2 s) and the next round begins. Writes whose answer never came are not counted: they
 * may or may not have happened.
 */
import { createClient } from '@libsql/client'
import { freePort, http, must, pool, round2, type ServerProcess, sleep, startServer, tempDir } from './lib'

export interface CrashOptions {
  rounds: number
  workers?: number
  writesPerSecond?: number
  /** The kill comes between these many ms after a round's load starts. */
  minRoundMs?: number
  maxRoundMs?: number
  /** Another entry point (the lying fixture); the real server by default. */
  script?: string
  seed?: number
}

export interface CrashResult {
  server: string
  rounds: number
  workers: number
  target_writes_per_s: number
  achieved_writes_per_s: number
  acknowledged: { posts: number; likes: number; follows: number; total: number }
  lost: number
  lost_examples: string[]
  in_flight_at_kill: number
  integrity: string[]
  counters_exact: boolean
  restart_ready_ms: { max: number; mean: number; all: number[] }
  pass: boolean
}

interface Worker {
  id: number
  username: string
  token: string
}

export async function crash(o: CrashOptions): Promise<CrashResult> {
  const workers = o.workers ?? 16
  const rate = o.writesPerSecond ?? 200
  const minRound = o.minRoundMs ?? 1500
  const maxRound = o.maxRoundMs ?? 4000
  let seed = (o.seed ?? 1) >>> 0 || 1
  const rand = () => {
    seed ^= seed << 13
    seed >>>= 0
    seed ^= seed >>> 17
    seed ^= seed << 5
    seed >>>= 0
    return seed / 2 ** 32
  }
  const dir = tempDir('crash')
  const dbPath = `${dir.path}/crash.db`
  const port = freePort()
  const start = () =>
    startServer({
      port,
      databaseUrl: `file:${dbPath}`,
      script: o.script,
      // Durability as shipped (DATABASE_SYNCHRONOUS=FULL by default); cheap hashing and no write
      // limit, since 12.5 writes/s per user is above the 300 per minute a user may make.
      env: { PASSWORD_MEMORY_COST: '1024', PASSWORD_TIME_COST: '1', AUTH_RATE_LIMIT: '0', WRITE_RATE_LIMIT: '0' },
    })

  const acked = { posts: new Map<number, string>(), likes: new Set<string>(), follows: new Set<string>() }
  const readyMs: number[] = []
  const integrity: string[] = []
  const lostExamples: string[] = []
  const lostKeys = new Set<string>()
  let countersExact = true
  let inFlightAtKill = 0
  let writes = 0
  let loadMs = 0
  let server: ServerProcess | undefined = await start()
  try {
    const users: Worker[] = await pool(
      Array.from({ length: workers + 16 }, (_, i) => i),
      8,
      async (i) => {
        const username = `crash_${i}`
        const r = await must(
          http(server!.base, 'POST', '/api/v1/auth/register', {
            body: { username, email: `${username}@example.com`, password: 'password123' },
          }),
          201,
          'register',
        )
        return { id: Number(r.body.user.id), username, token: r.body.access_token }
      },
    )
    // A few posts to like from the first moment.
    for (const u of users.slice(0, 4)) {
      const r = await must(
        http(server.base, 'POST', '/api/v1/posts', { token: u.token, body: { text: `seed by ${u.username}` } }),
        201,
        'post',
      )
      acked.posts.set(Number(r.body.id), r.body.text)
    }
    const postIds = () => [...acked.posts.keys()]

    for (let round = 1; round <= o.rounds; round++) {
      const base = server.base
      let running = true
      let inFlight = 0
      const roundStart = performance.now()
      const loops = users.slice(0, workers).map(async (me, w) => {
        const every = (1000 * workers) / rate
        let next = performance.now() + w * (every / workers)
        let n = 0
        while (running) {
          await sleep(Math.max(0, next - performance.now()))
          next += every
          if (!running) break
          const roll = rand()
          n++
          inFlight++
          try {
            if (roll < 0.5) {
              const text = `r${round} w${w} n${n} ${Math.random().toString(36).slice(2, 8)}`
              const r = await http(base, 'POST', '/api/v1/posts', { token: me.token, body: { text }, timeoutMs: 5000 })
              if (r.status === 201) acked.posts.set(Number(r.body.id), text)
            } else if (roll < 0.85) {
              const ids = postIds()
              const post = ids[Math.floor(rand() * ids.length)] as number
              const r = await http(base, 'PUT', `/api/v1/posts/${post}/like`, { token: me.token, timeoutMs: 5000 })
              if (r.status === 200) acked.likes.add(`${me.id}:${post}`)
            } else {
              const other = users[Math.floor(rand() * users.length)] as Worker
              if (other.id === me.id) continue
              const r = await http(base, 'PUT', `/api/v1/users/${other.username}/follow`, {
                token: me.token,
                timeoutMs: 5000,
              })
              if (r.status === 200) acked.follows.add(`${me.id}:${other.id}`)
            }
            writes++
          } catch {
            // No answer: the write may or may not have happened; it is not counted either way.
          } finally {
            inFlight--
          }
        }
      })
      // The kill: at a random moment, while requests are in flight.
      await sleep(minRound + rand() * (maxRound - minRound))
      // Land the kill while writes are in flight (when one is, within 100 ms): the case that matters.
      for (const until = performance.now() + 100; inFlight === 0 && performance.now() < until; ) await sleep(0)
      inFlightAtKill += inFlight
      await server.kill('SIGKILL')
      running = false
      await Promise.all(loops)
      loadMs += performance.now() - roundStart
      server = undefined

      // The server is dead: read the file as it is on disk.
      const db = createClient({ url: `file:${dbPath}` })
      try {
        const check = (await db.execute('PRAGMA integrity_check')).rows.map((r) => String(Object.values(r)[0]))
        if (check.join() !== 'ok') integrity.push(`round ${round}: ${check.join('; ')}`)
        const posts = new Map(
          (await db.execute('SELECT id, text FROM posts')).rows.map((r) => [Number(r.id), String(r.text)]),
        )
        const likes = new Set(
          (await db.execute('SELECT user_id, post_id FROM likes')).rows.map((r) => `${r.user_id}:${r.post_id}`),
        )
        const follows = new Set(
          (await db.execute('SELECT follower_id, followee_id FROM follows')).rows.map(
            (r) => `${r.follower_id}:${r.followee_id}`,
          ),
        )
        // Each acknowledged write is checked after every later crash too; a loss counts once.
        const miss = (what: string) => {
          if (lostKeys.has(what)) return
          lostKeys.add(what)
          if (lostExamples.length < 10) lostExamples.push(`round ${round}: ${what}`)
        }
        for (const [id, text] of acked.posts) if (posts.get(id) !== text) miss(`post ${id} "${text}"`)
        for (const k of acked.likes) if (!likes.has(k)) miss(`like ${k}`)
        for (const k of acked.follows) if (!follows.has(k)) miss(`follow ${k}`)
        // Counters move in the same transaction as their rows: after a crash they still agree.
        const drift = await db.execute(`
          SELECT count(*) AS n FROM (
            SELECT p.id FROM posts p WHERE p.likes_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)
            UNION ALL SELECT u.id FROM users u WHERE u.posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id)
            UNION ALL SELECT u.id FROM users u WHERE u.followers_count <> (SELECT count(*) FROM follows f WHERE f.followee_id = u.id))`)
        if (Number(drift.rows[0]?.n) !== 0) countersExact = false
      } finally {
        db.close()
      }
      server = await start()
      readyMs.push(round2(server.readyMs))
    }
  } finally {
    if (server) await server.stop()
    dir.remove()
  }
  const total = acked.posts.size + acked.likes.size + acked.follows.size
  const lost = lostKeys.size
  const maxReady = Math.max(...readyMs)
  return {
    server: o.script ?? 'src/index.ts',
    rounds: o.rounds,
    workers,
    target_writes_per_s: rate,
    achieved_writes_per_s: round2(writes / (loadMs / 1000)),
    acknowledged: { posts: acked.posts.size, likes: acked.likes.size, follows: acked.follows.size, total },
    lost,
    lost_examples: lostExamples,
    in_flight_at_kill: inFlightAtKill,
    integrity,
    counters_exact: countersExact,
    restart_ready_ms: {
      max: maxReady,
      mean: round2(readyMs.reduce((a, b) => a + b, 0) / readyMs.length),
      all: readyMs,
    },
    pass: lost === 0 && integrity.length === 0 && countersExact && maxReady <= 2000,
  }
}

import { type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { safeError } from '../../errors'
import type { Logger } from '../../logger'

/**
 * The largest fan-outs the triggers of migrations/0004_timeline_jobs.sql write inside the
 * request (the SQL holds the numbers; these name them for tests and documentation). Measured on
 * the benchmark database: a post costs about 20 µs per follower (a random B-tree insert each),
 * so 100 followers is ~2 ms; a follow about 1 µs per post of the followee (all in the
 * follower's own key range), so 1,000 posts is ~1 ms.
 */
export const INLINE_FOLLOWERS = 100
export const INLINE_POSTS = 1000

export type FanoutKind = 'post' | 'unpost' | 'follow' | 'unfollow'

export interface FanoutJob {
  id: number
  kind: FanoutKind
  postId: number | null
  authorId: number | null
  followerId: number | null
  followeeId: number | null
  cursor: number
}

export interface FanoutOptions {
  /**
   * How soon an idle worker looks for jobs again (the triggers cannot wake it); each look that
   * finds none doubles the wait, up to `maxPollMs`, so a quiet server stays quiet.
   */
  pollMs: number
  maxPollMs: number
  /** Followers per chunk of a `post` or `unpost` job: one random insert or delete each. */
  followersPerChunk: number
  /** Posts per chunk of a `follow` or `unfollow` job: one sequential insert or delete each. */
  postsPerChunk: number
  baseBackoffMs: number
  maxBackoffMs: number
  /**
   * A local file database only: copy each chunk's pages from the WAL into the database right
   * after it (a passive checkpoint, ~3 ms), instead of leaving them to SQLite's automatic
   * checkpoint, which copies a thousand pages at once (~20 ms) inside whichever commit crosses
   * the mark, a request's included. A large fan-out writes a page per follower.
   */
  checkpoint: boolean
}

// A chunk costs about what the largest inline fan-out does (~2 ms on the benchmark database).
// Larger chunks do not drain a job faster: the time goes to writing pages, not to commits.
const defaults: FanoutOptions = {
  pollMs: 100,
  maxPollMs: 1000,
  followersPerChunk: 100,
  postsPerChunk: 2000,
  baseBackoffMs: 500,
  maxBackoffMs: 30_000,
  checkpoint: false,
}

/** What one chunk did: nothing to do, a step forward, the job's end, or nothing (another worker moved it first). */
export type ChunkResult = 'idle' | 'advanced' | 'finished' | 'lost'

/**
 * Writes the queued fan-outs of timeline_jobs in the background, oldest job first, one bounded
 * chunk per atomic write batch, so no request waits behind more than one chunk. Every chunk
 * re-checks the current state in its own statements (see the migration) and moves the job's
 * cursor with a compare-and-set: a chunk run twice, by a second instance or after a crash,
 * changes nothing, and jobs survive restarts in the table.
 */
export class FanoutWorker {
  readonly #options: FanoutOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<ChunkResult> | undefined
  #stopped = true
  #failures = 0
  #idleMs = 0
  /** The job being worked, with the cursor its last chunk returned (saves a read per chunk). */
  #current: (FanoutJob & { chunks: number; rows: number; started: number }) | undefined

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    options: Partial<FanoutOptions> = {},
  ) {
    this.#options = { ...defaults, ...options }
  }

  start(): void {
    this.#stopped = false
    this.kick()
  }

  /** Looks for work now instead of at the next poll. */
  kick(): void {
    this.#idleMs = this.#options.pollMs
    if (this.#stopped || this.#running) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#loop(), 0)
  }

  /** Stops polling and waits for a chunk in progress; what is left stays queued for next time. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => undefined)
  }

  async #loop(): Promise<void> {
    this.#timer = undefined
    let delay: number
    try {
      this.#running = this.runOnce()
      const result = await this.#running
      this.#failures = 0
      if (result === 'idle') {
        delay = this.#idleMs
        this.#idleMs = Math.min(this.#idleMs * 2, this.#options.maxPollMs)
      } else if (result === 'lost') {
        // Another instance is working this job: leave it to it for a while rather than race it.
        delay = this.#options.pollMs
      } else {
        // Right after a chunk, the next one: the timer lets requests that arrived meanwhile run first.
        delay = 0
        this.#idleMs = this.#options.pollMs
        if (this.#options.checkpoint) await this.db.$client.execute('PRAGMA wal_checkpoint(PASSIVE)')
      }
    } catch (error) {
      this.#failures++
      this.#current = undefined
      delay = Math.min(this.#options.baseBackoffMs * 2 ** (this.#failures - 1), this.#options.maxBackoffMs)
      this.logger.warn({ err: safeError(error), retry_in_ms: delay }, 'timeline fan-out: a chunk failed; will retry')
    } finally {
      this.#running = undefined
    }
    if (this.#stopped) return
    this.#timer = setTimeout(() => void this.#loop(), delay)
  }

  /** Applies one chunk of the oldest job. */
  async runOnce(): Promise<ChunkResult> {
    const job = this.#current ?? (await this.#oldest())
    if (!job) return 'idle'
    const { write, advance, finish } = this.#chunk(job)
    const [written, advanced, finished] = await this.db.batch([
      this.db.run(write),
      this.db.all<{ cursor: number }>(advance),
      this.db.all<{ id: number }>(finish),
    ])
    const current =
      this.#current?.id === job.id ? this.#current : { ...job, chunks: 0, rows: 0, started: performance.now() }
    current.chunks++
    current.rows += written.rowsAffected
    const next = advanced[0]
    if (next) {
      this.#current = { ...current, cursor: Number(next.cursor) }
      return 'advanced'
    }
    this.#current = undefined
    if (finished.length === 0) return 'lost'
    this.logger.debug(
      {
        job: job.id,
        kind: job.kind,
        chunks: current.chunks,
        rows: current.rows,
        ms: Math.round(performance.now() - current.started),
      },
      'timeline fan-out done',
    )
    return 'finished'
  }

  /** Runs chunks until no job is left (tests, scripts); returns how many chunks it ran. */
  async drain(): Promise<number> {
    let chunks = 0
    for (;;) {
      const result = await this.runOnce()
      if (result === 'idle') return chunks
      chunks++
    }
  }

  /** Jobs not yet finished. */
  async backlog(): Promise<number> {
    const [row] = await this.db.all<{ n: number }>(sql`select count(*) as n from timeline_jobs`)
    return Number(row?.n ?? 0)
  }

  async #oldest(): Promise<FanoutJob | undefined> {
    const [row] = await this.db.all<Record<string, number | string | null>>(
      sql`select id, kind, post_id, author_id, follower_id, followee_id, cursor from timeline_jobs order by id limit 1`,
    )
    if (!row) return undefined
    const id = (v: unknown) => (v === null || v === undefined ? null : Number(v))
    return {
      id: Number(row.id),
      kind: row.kind as FanoutKind,
      postId: id(row.post_id),
      authorId: id(row.author_id),
      followerId: id(row.follower_id),
      followeeId: id(row.followee_id),
      cursor: Number(row.cursor),
    }
  }

  /**
   * The three statements of one chunk, run in one atomic batch: the entries written or removed
   * for the next `range` of rows after the cursor, then either the cursor moved to the end of the
   * range or, once the range is short (or an insert has become pointless), the job deleted.
   * Each is guarded by the job still being at this cursor, so a stale copy of the chunk does
   * nothing at all.
   */
  #chunk(job: FanoutJob): { write: SQL; advance: SQL; finish: SQL } {
    const at = sql`exists (select 1 from timeline_jobs where id = ${job.id} and cursor = ${job.cursor})`
    let write: SQL
    /** The rows this chunk covers (their ids only, for the cursor: an index-only walk). */
    let ids: SQL
    let size: number
    // Whether more inserts can still be right. A deleted post never comes back, and a follow
    // that was removed and made again has a job (or an inline fan-out) of its own.
    let live: SQL = sql`1`
    switch (job.kind) {
      case 'post':
      case 'unpost': {
        size = this.#options.followersPerChunk
        // follows_followee_id_idx: the author's follows in id order.
        const range = sql`select id, follower_id from follows where followee_id = ${job.authorId} and id > ${job.cursor} order by id limit ${size}`
        ids = sql`select id from follows where followee_id = ${job.authorId} and id > ${job.cursor} order by id limit ${size}`
        if (job.kind === 'post') {
          live = sql`exists (select 1 from posts where id = ${job.postId})`
          // Sorted by reader, so the inserts walk timeline_entries' key order.
          write = sql`insert or ignore into timeline_entries (user_id, post_id)
            select follower_id, ${job.postId} from (${range}) where ${live} and ${at} order by follower_id`
        } else
          write = sql`delete from timeline_entries where post_id = ${job.postId} and user_id in (
              select follower_id from (${range})
              union all
              select follower_id from timeline_jobs where kind = 'unfollow' and followee_id = ${job.authorId})
            and not exists (select 1 from posts where id = ${job.postId}) and ${at}`
        break
      }
      case 'follow':
      case 'unfollow': {
        size = this.#options.postsPerChunk
        // posts_author_id_idx: the followee's posts in id order.
        const range = sql`select id from posts where author_id = ${job.followeeId} and id > ${job.cursor} order by id limit ${size}`
        ids = range
        const follows = sql`exists (select 1 from follows where follower_id = ${job.followerId} and followee_id = ${job.followeeId})`
        if (job.kind === 'follow') {
          live = follows
          write = sql`insert or ignore into timeline_entries (user_id, post_id)
            select ${job.followerId}, id from (${range}) where ${live} and ${at}`
        } else
          write = sql`delete from timeline_entries where user_id = ${job.followerId} and post_id in (
              select id from (${range})
              union all
              select post_id from timeline_jobs where kind = 'unpost' and author_id = ${job.followeeId})
            and not ${follows} and ${at}`
        break
      }
    }
    const full = sql`(select count(*) from (${ids})) = ${size}`
    return {
      write,
      advance: sql`update timeline_jobs set cursor = (select max(id) from (${ids}))
        where id = ${job.id} and cursor = ${job.cursor} and ${full} and ${live} returning cursor`,
      finish: sql`delete from timeline_jobs
        where id = ${job.id} and cursor = ${job.cursor} and not (${full} and ${live}) returning id`,
    }
  }
}

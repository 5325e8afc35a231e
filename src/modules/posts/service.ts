import { createHash } from 'node:crypto'
import { and, asc, desc, eq, gt, inArray, is, isNull, lt, Placeholder, type SQL, sql } from 'drizzle-orm'
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core'
import type { RowsByPosition } from '../../db/bun-sqlite'
import type { Db } from '../../db/client'
import { idempotencyKeys, likes, postEdits, posts, timelineEntries, users } from '../../db/schema'
import { conflict, forbidden, notFound, unprocessable } from '../../http/problem'
import type { Viewer } from '../auth/service'
import { userColumnsFor, withRelation } from '../users/service'
import { TEXT_MAX } from './model'
import { canDeletePost, canEditPost } from './policy'
import type { PostListRow, PostWithAuthor } from './serializer'

const DAY_MS = 24 * 60 * 60 * 1000
/** Compiles the hand-written list statements (Drizzle's query builder does the rest). */
const dialect = new SQLiteAsyncDialect()
/** The page size when a list is asked for none (`?limit=`). */
const DEFAULT_PAGE = 20
/** Bounds of GET /posts/:id/context, each way. */
export const CONTEXT_LIMIT = 200
/** A post id from a URL or body: an opaque string that is a positive integer here; anything else names no post. */
export function parseId(raw: string | null | undefined): number | undefined {
  if (!raw || !/^[1-9][0-9]{0,15}$/.test(raw)) return undefined
  const id = Number(raw)
  return Number.isSafeInteger(id) ? id : undefined
}

/** The id of an enabled user by username, ignoring case; unknown and disabled users are both 404. */
export async function enabledUserId(db: Db, username: string): Promise<number> {
  const row = await db
    .select({ id: users.id })
    .from(users)
    .where(and(sql`lower(${users.username}) = lower(${username})`, eq(users.disabled, false)))
    .get()
  if (!row) throw notFound('user')
  return row.id
}

/** 1–500 code points after trimming; returns the trimmed text. */
export function normalizeText(text: string): string {
  const trimmed = text.trim()
  const length = [...trimmed].length
  if (length < 1 || length > TEXT_MAX) throw unprocessable('text', `must be 1 to ${TEXT_MAX} characters`)
  return trimmed
}

const unknownReply = () => unprocessable('reply_to_id', 'does not name a post')
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')

/** The post's author is enabled (disabled accounts' posts are hidden everywhere); one primary-key lookup. */
const authorEnabled = sql`(select u.disabled from users u where u.id = "posts"."author_id") = 0`

/**
 * Top-level posts only. `likely()` tells SQLite most posts are top-level: with ANALYZE statistics
 * it otherwise thinks `reply_to_id IS NULL` is selective (most reply_to_id keys are unique) and
 * walks every top-level post for one author's page (42 ms instead of 0.04 ms on 2M posts); with it,
 * both modes use posts_author_top_level_idx / an id-ordered index.
 */
const topLevel = sql`likely(${posts.replyToId} is null)`

/** A post exists and its author is not disabled (disabled accounts' posts are hidden everywhere). */
const visiblePost = (id: number) =>
  sql`exists (select 1 from ${posts} join ${users} on ${users.id} = ${posts.authorId} where ${posts.id} = ${id} and ${users.disabled} = 0)`

export interface IdempotentResult {
  row: PostWithAuthor
  /** True when an Idempotency-Key retry returned the first result. */
  replayed: boolean
}

export class PostService {
  constructor(private readonly db: Db) {}

  /**
   * The columns of a serialized post for the single-post reads (a post, a thread's posts by id):
   * the post, its author's summary and the viewer's like, as correlated primary-key lookups.
   * Post lists do not use these: `#page` joins each row's author once, by a LEFT JOIN whose plan
   * ANALYZE cannot change. References are written qualified by hand: Drizzle drops table names
   * in single-table selects, which would make `id` inside a subquery mean the subquery's own table.
   */
  #columns(viewerId: number | Placeholder | undefined) {
    return {
      post: posts,
      author: {
        id: posts.authorId,
        username: sql<string>`(select u.username from users u where u.id = "posts"."author_id")`,
        displayName: sql<string>`(select u.display_name from users u where u.id = "posts"."author_id")`,
        avatarUrl: sql<string | null>`(select u.avatar_url from users u where u.id = "posts"."author_id")`,
      },
      likedByMe:
        viewerId === undefined
          ? sql<null>`null`
          : sql<number>`exists (select 1 from likes l where l.user_id = ${viewerId} and l.post_id = "posts"."id")`,
    }
  }

  /** Posts matching `where` whose author is enabled, in one statement (`find`, `context`). */
  #select(viewerId: number | Placeholder | undefined, where: SQL | undefined) {
    return this.db.select(this.#columns(viewerId)).from(posts).where(and(authorEnabled, where))
  }

  /**
   * The hot reads as prepared queries, one per shape (with or without a cursor, a viewer, replies),
   * built once: Drizzle's query building would otherwise cost about as much as running the query.
   * Values are bound through named placeholders (`sql.placeholder`), filled at each call.
   */
  readonly #prepared = new Map<string, unknown>()
  #once<T>(key: string, build: () => T): T {
    let query = this.#prepared.get(key) as T | undefined
    if (query === undefined) {
      query = build()
      this.#prepared.set(key, query)
    }
    return query
  }

  /**
   * One page of a post list as one statement, compiled once per shape and run as SQL text with
   * rows by position (`postFromRow`; the last column is the list's sort key, for the cursor).
   *
   * The list's own tables drive, in the order of the index that matches `order by` (so nothing
   * is sorted and the walk stops at the limit), and each row is joined with its author by primary
   * key. The author join is a LEFT JOIN filtered with `u.disabled IS 0` (false for a missing
   * author too) rather than an inner join, for a plan that ANALYZE cannot change:
   *   - a LEFT JOIN is never reordered, so the author is never the outer loop;
   *   - SQLite builds no Bloom filter for the right side of a LEFT JOIN. Over an inner join it
   *     does, once ANALYZE statistics exist (it ignores LIMIT when it estimates a join): a filter
   *     over the whole users table for every page, 10 ms instead of 0.02 ms at 100k users;
   *   - `IS 0` is true for no NULL row, yet is not one of the terms that let SQLite turn the LEFT
   *     JOIN back into an inner join.
   * One author lookup per row: about the cost of ceiling (b)'s plain join (bench/layers.ts).
   *
   * The usual page size is written into the SQL: SQLite (3.54, as bundled with Bun) runs the
   * same statement measurably slower with a bound LIMIT (28 µs instead of 17 µs for a feed page);
   * other sizes are bound, so at most two statements exist per shape.
   */
  #page(
    shape: string,
    limit: number,
    viewerId: number | undefined,
    query: { from: SQL; where: SQL | undefined; key: SQL; order: 'asc' | 'desc' },
  ) {
    const n = limit + 1
    const literal = limit === DEFAULT_PAGE
    const run = this.#once(`${shape}:${viewerId !== undefined}:${literal}`, () => {
      const liked =
        viewerId === undefined
          ? sql`null`
          : sql`exists (select 1 from likes l where l.user_id = ${sql.placeholder('viewer')} and l.post_id = posts.id)`
      const compiled = dialect.sqlToQuery(sql`
        select posts.id, posts.text, posts.reply_to_id, posts.created_at, posts.edited_at, posts.likes_count,
               posts.replies_count, posts.author_id, u.username, u.display_name, u.avatar_url, ${liked}, ${query.key}
        from ${query.from} left join users u on u.id = posts.author_id
        where ${and(sql`u.disabled is 0`, query.where)}
        order by ${query.key} ${sql.raw(query.order)}
        limit ${literal ? sql.raw(String(n)) : sql.placeholder('limit')}`)
      const client = this.db.$client
      return async (values: Record<string, unknown>): Promise<PostListRow[]> => {
        const args = compiled.params.map((p: unknown) => (is(p, Placeholder) ? values[p.name] : p)) as never
        const statement: RowsByPosition = { sql: compiled.sql, args, rowsByPosition: true }
        return (await client.execute(statement)).rows
      }
    })
    return (values: Record<string, unknown>) => run({ ...values, viewer: viewerId, limit: n })
  }

  /** `posts.id < :before` (or `> :after`) when the page has a cursor. */
  static #below(cursor: number | undefined) {
    return cursor === undefined ? undefined : lt(posts.id, sql.placeholder('before'))
  }

  static #viewer(viewerId: number | undefined) {
    return viewerId === undefined ? undefined : sql.placeholder('viewer')
  }

  async find(id: number, viewerId?: number): Promise<PostWithAuthor | undefined> {
    return this.#once(`find:${viewerId !== undefined}`, () =>
      this.#select(PostService.#viewer(viewerId), eq(posts.id, sql.placeholder('id'))).prepare(),
    ).get({ id, viewer: viewerId })
  }

  async get(id: number, viewerId?: number): Promise<PostWithAuthor> {
    const row = await this.find(id, viewerId)
    if (!row) throw notFound('post')
    return row
  }

  async #mustExist(id: number): Promise<void> {
    const row = await this.db
      .select({ id: posts.id })
      .from(posts)
      .innerJoin(users, and(eq(users.id, posts.authorId), eq(users.disabled, false)))
      .where(eq(posts.id, id))
      .get()
    if (!row) throw notFound('post')
  }

  /**
   * Creates a post (a reply when `replyToId` is given; an unknown parent is 422). With an
   * idempotency key, the first request of the user with that key within 24 hours creates the
   * post and records the key in the same atomic batch; a retry gets that post back, a different
   * body with the same key is 422. Concurrent duplicates serialize on the batch and create one post.
   */
  async create(
    viewer: Viewer,
    input: { text: string; replyToId?: string | null; idempotencyKey?: string },
  ): Promise<IdempotentResult> {
    const text = normalizeText(input.text)
    let replyTo: number | null = null
    if (input.replyToId !== undefined && input.replyToId !== null) {
      const parsed = parseId(input.replyToId)
      if (parsed === undefined) throw unknownReply()
      replyTo = parsed
    }
    const me = viewer.id
    const now = Date.now()
    const replyOk = replyTo === null ? sql`1` : visiblePost(replyTo)
    const key = input.idempotencyKey

    if (key === undefined) {
      const inserted = await this.db.run(sql`
        insert into posts (author_id, text, reply_to_id, created_at)
        select ${me}, ${text}, ${replyTo}, ${now} where ${replyOk} returning id`)
      const id = inserted.rows[0]?.id
      if (id === undefined || id === null) throw unknownReply()
      return { row: await this.get(Number(id), me), replayed: false }
    }

    // The key row is written only together with its post, so a committed key always names one.
    const hash = sha256(JSON.stringify([input.text, input.replyToId ?? null]))
    const thisKey = and(eq(idempotencyKeys.userId, me), eq(idempotencyKeys.key, key))
    const [, , inserted, , stored] = await this.db.batch([
      this.db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - DAY_MS)),
      this.db.run(sql`
        insert into idempotency_keys (user_id, key, request_hash, post_id, created_at)
        select ${me}, ${key}, ${hash}, null, ${now} where ${replyOk}
        on conflict do nothing`),
      this.db.run(sql`
        insert into posts (author_id, text, reply_to_id, created_at)
        select ${me}, ${text}, ${replyTo}, ${now}
        where ${replyOk}
          and exists (select 1 from idempotency_keys where user_id = ${me} and key = ${key} and post_id is null)
        returning id`),
      this.db
        .update(idempotencyKeys)
        .set({ postId: sql`(select max(${posts.id}) from ${posts} where ${posts.authorId} = ${me})` })
        .where(and(thisKey, isNull(idempotencyKeys.postId))),
      this.db
        .select({ requestHash: idempotencyKeys.requestHash, postId: idempotencyKeys.postId })
        .from(idempotencyKeys)
        .where(thisKey),
    ])
    const createdId = inserted.rows[0]?.id
    if (createdId !== undefined && createdId !== null)
      return { row: await this.get(Number(createdId), me), replayed: false }
    const first = stored[0]
    if (!first) throw unknownReply()
    if (first.requestHash !== hash) throw unprocessable('idempotency-key', 'was already used with a different request')
    const replay = first.postId === null ? undefined : await this.find(first.postId, me)
    if (!replay) throw conflict('idempotency-key', 'names a post that has since been deleted')
    return { row: replay, replayed: true }
  }

  /** The global feed, newest first (posts_top_level_idx without replies, the primary key with them). */
  feed(includeReplies: boolean, before: number | undefined, limit: number, viewerId?: number) {
    return this.#page(`feed:${includeReplies}:${before !== undefined}`, limit, viewerId, {
      from: sql`posts`,
      where: and(includeReplies ? undefined : topLevel, PostService.#below(before)),
      key: sql`posts.id`,
      order: 'desc',
    })({ before })
  }

  /** One user's posts, newest first (posts_author_id_idx, or posts_author_top_level_idx without replies). */
  async byAuthor(
    username: string,
    includeReplies: boolean,
    before: number | undefined,
    limit: number,
    viewerId?: number,
  ) {
    const authorId = await enabledUserId(this.db, username)
    return this.#page(`byAuthor:${includeReplies}:${before !== undefined}`, limit, viewerId, {
      from: sql`posts`,
      where: and(
        eq(posts.authorId, sql.placeholder('author')),
        includeReplies ? undefined : topLevel,
        PostService.#below(before),
      ),
      key: sql`posts.id`,
      order: 'desc',
    })({ author: authorId, before })
  }

  /**
   * The viewer's own posts and those of the accounts they follow, newest first: a walk of the
   * viewer's range of timeline_entries (written on fan-out by the triggers of
   * migrations/0003_timeline_entries.sql) down from `before`, each post joined by primary key,
   * that stops at the page. It reads limit + 1 entries, plus those of disabled authors: their
   * posts are skipped as everywhere else, and their entries stay, so the posts come back if the
   * account is enabled again. The CROSS JOIN keeps timeline_entries outermost whatever ANALYZE
   * says; the plan is the same with and without statistics (test/list-plans.test.ts):
   *
   *   SEARCH timeline_entries USING PRIMARY KEY (user_id=? AND post_id<?)  -- (user_id=?) on page one
   *   SEARCH posts USING INTEGER PRIMARY KEY (rowid=?)
   *   SEARCH u USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN              -- the author, enabled
   *   CORRELATED SCALAR SUBQUERY                                          -- liked_by_me
   *     SEARCH l USING COVERING INDEX likes_user_post_unique (user_id=? AND post_id=?)
   */
  timeline(viewerId: number, before: number | undefined, limit: number) {
    return this.#page(`timeline:${before !== undefined}`, limit, viewerId, {
      from: sql`timeline_entries cross join posts`,
      where: and(
        eq(timelineEntries.userId, sql.placeholder('viewer')),
        eq(posts.id, timelineEntries.postId),
        before === undefined ? undefined : lt(timelineEntries.postId, sql.placeholder('before')),
      ),
      key: sql`timeline_entries.post_id`,
      order: 'desc',
    })({ before })
  }

  /** Direct replies, oldest first (posts_reply_to_id_idx). */
  async replies(id: number, after: number | undefined, limit: number, viewerId?: number) {
    await this.#mustExist(id)
    return this.#page(`replies:${after !== undefined}`, limit, viewerId, {
      from: sql`posts`,
      where: and(
        eq(posts.replyToId, sql.placeholder('id')),
        after === undefined ? undefined : gt(posts.id, sql.placeholder('after')),
      ),
      key: sql`posts.id`,
      order: 'asc',
    })({ id, after })
  }

  /**
   * The thread around a post: its ancestors from the root down (the nearest 200) and its
   * descendants depth-first, oldest sibling first (the first 200). One recursive CTE each.
   */
  async context(
    id: number,
    viewerId?: number,
  ): Promise<{ ancestors: PostWithAuthor[]; descendants: PostWithAuthor[] }> {
    await this.#mustExist(id)
    const [ancestors, ordered] = await this.db.batch([
      // A parent is always older than its replies, so root-first is ascending id.
      this.#select(
        viewerId,
        sql`${posts.id} in (
            with recursive anc(id, depth) as (
              select reply_to_id, 1 from posts where id = ${id} and reply_to_id is not null
              union all
              select p.reply_to_id, anc.depth + 1 from anc join posts p on p.id = anc.id
              where p.reply_to_id is not null and anc.depth < ${CONTEXT_LIMIT}
            )
            select id from anc)`,
      ).orderBy(asc(posts.id)),
      // ORDER BY depth DESC makes the CTE's queue a stack (depth-first), so LIMIT keeps the
      // first 200 in depth-first order; the zero-padded path sorts them the same way.
      this.db.all<{ id: number }>(sql`
        with recursive d(id, depth, path) as (
          select id, 1, printf('%016d', id) from posts where reply_to_id = ${id}
          union all
          select p.id, d.depth + 1, d.path || '/' || printf('%016d', p.id) from d join posts p on p.reply_to_id = d.id
          order by 2 desc, 1 asc
          limit ${CONTEXT_LIMIT}
        )
        select id from d order by path`),
    ])
    const ids = (ordered as Array<{ id: number }>).map((r) => Number(r.id))
    if (ids.length === 0) return { ancestors, descendants: [] }
    const rows = await this.#select(viewerId, inArray(posts.id, ids))
    const byId = new Map(rows.map((r) => [r.post.id, r]))
    const descendants = ids.flatMap((i) => byId.get(i) ?? [])
    return { ancestors, descendants }
  }

  /** Earlier versions of a post, oldest first. */
  async history(id: number, after: number | undefined, limit: number) {
    await this.#mustExist(id)
    return this.db
      .select({ id: postEdits.id, text: postEdits.text, createdAt: postEdits.createdAt })
      .from(postEdits)
      .where(and(eq(postEdits.postId, id), after !== undefined ? gt(postEdits.id, after) : undefined))
      .orderBy(asc(postEdits.id))
      .limit(limit + 1)
  }

  /** The post with its author's enabled flag, for policies (no visibility filter). */
  #forPolicy(id: number) {
    return this.db
      .select({ authorId: posts.authorId, authorDisabled: users.disabled })
      .from(posts)
      .innerJoin(users, eq(users.id, posts.authorId))
      .where(eq(posts.id, id))
      .get()
  }

  /** Replaces the text (author only) and keeps the previous version in post_edits, in one batch. */
  async update(viewer: Viewer, id: number, rawText: string): Promise<PostWithAuthor> {
    const text = normalizeText(rawText)
    const current = await this.#forPolicy(id)
    if (!current || current.authorDisabled) throw notFound('post')
    if (!canEditPost(viewer, current)) throw forbidden('Only the author may edit this post')
    const mine = and(eq(posts.id, id), eq(posts.authorId, viewer.id))
    await this.db.batch([
      this.db.run(sql`
        insert into ${postEdits} (post_id, text, created_at)
        select ${posts.id}, ${posts.text}, coalesce(${posts.editedAt}, ${posts.createdAt}) from ${posts} where ${mine}`),
      this.db.update(posts).set({ text, editedAt: Date.now() }).where(mine),
    ])
    return this.get(id, viewer.id)
  }

  /** Deletes a post (author or admin). Its replies stay and keep naming it; counters follow by trigger. */
  async delete(viewer: Viewer, id: number): Promise<void> {
    const current = await this.#forPolicy(id)
    if (!current || (current.authorDisabled && viewer.role !== 'admin')) throw notFound('post')
    if (!canDeletePost(viewer, current)) throw forbidden('Only the author or an administrator may delete this post')
    await this.db.delete(posts).where(eq(posts.id, id))
  }

  /** Likes a post, idempotently; the count is read in the same atomic batch. */
  async like(viewer: Viewer, id: number): Promise<{ liked: boolean; likesCount: number }> {
    const [, counted] = await this.db.batch([
      this.db.run(sql`
        insert into likes (user_id, post_id, created_at)
        select ${viewer.id}, ${id}, ${Date.now()} where ${visiblePost(id)}
        on conflict do nothing`),
      this.#likesCount(id),
    ])
    const row = counted[0]
    if (!row) throw notFound('post')
    return { liked: true, likesCount: row.likesCount }
  }

  /** Removes the viewer's like, idempotently. */
  async unlike(viewer: Viewer, id: number): Promise<{ liked: boolean; likesCount: number }> {
    const [, counted] = await this.db.batch([
      this.db.delete(likes).where(and(eq(likes.userId, viewer.id), eq(likes.postId, id))),
      this.#likesCount(id),
    ])
    const row = counted[0]
    if (!row) throw notFound('post')
    return { liked: false, likesCount: row.likesCount }
  }

  #likesCount(id: number) {
    return this.db
      .select({ likesCount: posts.likesCount })
      .from(posts)
      .innerJoin(users, and(eq(users.id, posts.authorId), eq(users.disabled, false)))
      .where(eq(posts.id, id))
  }

  /** Who liked a post, most recent like first (likes_post_id_idx). */
  async likers(id: number, before: number | undefined, limit: number, viewerId?: number) {
    await this.#mustExist(id)
    const rows = await this.db
      .select({ ...userColumnsFor(viewerId), likeId: likes.id })
      .from(likes)
      .crossJoin(users) // likes drives, in likes_post_id_idx order (CROSS JOIN is never reordered)
      .where(
        and(
          eq(likes.postId, id),
          eq(users.id, likes.userId),
          eq(users.disabled, false),
          before !== undefined ? lt(likes.id, before) : undefined,
        ),
      )
      .orderBy(desc(likes.id))
      .limit(limit + 1)
    return rows.map((r) => ({ likeId: r.likeId, user: withRelation(r) }))
  }

  /** The posts a user liked, most recent like first (likes_user_id_idx); the sort key is the like's id. */
  async likedBy(username: string, before: number | undefined, limit: number, viewerId?: number) {
    const userId = await enabledUserId(this.db, username)
    return this.#page(`likedBy:${before !== undefined}`, limit, viewerId, {
      // likes drives, in likes_user_id_idx order (CROSS JOIN is never reordered)
      from: sql`likes cross join posts`,
      where: and(
        eq(likes.userId, sql.placeholder('user')),
        eq(posts.id, likes.postId),
        before === undefined ? undefined : lt(likes.id, sql.placeholder('before')),
      ),
      key: sql`likes.id`,
      order: 'desc',
    })({ user: userId, before })
  }
}

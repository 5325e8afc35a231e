import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { idempotencyKeys, postEdits, posts, users } from '../../db/schema'
import { sha256 } from '../../hash'
import { DEFAULT_PAGE, Keyset, type PageRequest } from '../../http/pagination'
import { conflict, forbidden, notFound, unprocessable } from '../../http/problem'
import type { Viewer } from '../auth/service'
import type { UserService } from '../users/service'
import { type PostRow, postAt, postList } from './list'
import { TEXT_MAX } from './model'
import { canDeletePost, canEditPost } from './policy'
import { visiblePost } from './visibility'

const DAY_MS = 24 * 60 * 60 * 1000
/** Bounds of GET /posts/:id/context, each way. */
export const CONTEXT_LIMIT = 200

/** A post id from a URL or body: an opaque string that is a positive integer here; anything else names no post. */
export function parseId(raw: string | null | undefined): number | undefined {
  if (!raw || !/^[1-9][0-9]{0,15}$/.test(raw)) return undefined
  const id = Number(raw)
  return Number.isSafeInteger(id) ? id : undefined
}

/** 1–500 code points after trimming; returns the trimmed text. */
export function normalizeText(text: string): string {
  const trimmed = text.trim()
  const length = [...trimmed].length
  if (length < 1 || length > TEXT_MAX) throw unprocessable('text', `must be 1 to ${TEXT_MAX} characters`)
  return trimmed
}

const unknownReply = () => unprocessable('reply_to_id', 'does not name a post')

/**
 * Top-level posts only. `likely()` tells SQLite most posts are top-level: with ANALYZE statistics
 * it otherwise thinks `reply_to_id IS NULL` is selective (most reply_to_id keys are unique) and
 * walks every top-level post for one author's page (42 ms instead of 0.04 ms on 2M posts); with it,
 * both modes use posts_author_top_level_idx / an id-ordered index.
 */
const topLevel = sql`likely(posts.reply_to_id is null)`

type RepliesShape = { viewer: boolean; includeReplies: boolean }

/** The global feed, newest first (posts_top_level_idx without replies, the primary key with them). */
const feed = postList<RepliesShape>({
  name: 'posts',
  from: sql`posts`,
  where: ({ includeReplies }) => [includeReplies ? undefined : topLevel],
  key: sql`posts.id`,
  order: 'desc',
})

/** One user's posts, newest first (posts_author_id_idx, or posts_author_top_level_idx without replies). */
const byAuthor = postList<RepliesShape>({
  name: 'user-posts',
  from: sql`posts`,
  where: ({ includeReplies }) => [
    sql`posts.author_id = ${sql.placeholder('author')}`,
    includeReplies ? undefined : topLevel,
  ],
  key: sql`posts.id`,
  order: 'desc',
})

/** Direct replies, oldest first (posts_reply_to_id_idx). */
const replies = postList({
  name: 'replies',
  from: sql`posts`,
  where: () => [sql`posts.reply_to_id = ${sql.placeholder('id')}`],
  key: sql`posts.id`,
  order: 'asc',
})

/** One post by id. */
const byId = postList({
  name: 'post',
  from: sql`posts`,
  where: () => [sql`posts.id = ${sql.placeholder('id')}`],
  key: sql`posts.id`,
  order: 'asc',
})

/**
 * A post and its ancestors, root first (a parent is always older than its replies: ascending id,
 * so the post itself comes last).
 */
const withAncestors = postList({
  name: 'thread',
  from: sql`posts`,
  where: () => [
    sql`posts.id in (
      with recursive anc(id, depth) as (
        select ${sql.placeholder('id')}, 0
        union all
        select p.reply_to_id, anc.depth + 1 from anc join posts p on p.id = anc.id
        where p.reply_to_id is not null and anc.depth < ${sql.raw(String(CONTEXT_LIMIT))}
      )
      select id from anc)`,
  ],
  key: sql`posts.id`,
  order: 'asc',
})

/** Posts by a JSON array of ids (`:ids`), in id order. */
const byIds = postList({
  name: 'posts-by-id',
  from: sql`posts`,
  where: () => [sql`posts.id in (select value from json_each(${sql.placeholder('ids')}))`],
  key: sql`posts.id`,
  order: 'asc',
})

export interface IdempotentResult {
  row: PostRow
  /** True when an Idempotency-Key retry returned the first result. */
  replayed: boolean
}

const history = new Keyset('history', ['int'])

export class PostService {
  constructor(
    private readonly db: Db,
    private readonly userService: UserService,
  ) {}

  async find(id: number, viewerId?: number): Promise<PostRow | undefined> {
    return (await byId.rows(this.db, {}, { id }, 1, viewerId))[0]
  }

  async get(id: number, viewerId?: number): Promise<PostRow> {
    const row = await this.find(id, viewerId)
    if (!row) throw notFound('post')
    return row
  }

  /** 404 unless the post exists and may be seen. */
  async mustBeVisible(id: number): Promise<void> {
    const [row] = await this.db.all<{ ok: number }>(sql`select ${visiblePost(id)} as ok`)
    if (!row?.ok) throw notFound('post')
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

  /** The global feed, newest first; top-level posts only unless `includeReplies`. */
  feed(includeReplies: boolean, page: PageRequest, viewerId?: number) {
    return feed.page(this.db, { includeReplies }, {}, page, viewerId)
  }

  /** One user's posts, newest first (404 for an unknown or disabled user). */
  byAuthor(username: string, includeReplies: boolean, page: PageRequest, viewerId?: number) {
    const author = async () => ({ author: await this.userService.enabledId(username) })
    return byAuthor.page(this.db, { includeReplies }, author, page, viewerId)
  }

  /** Direct replies, oldest first. */
  replies(id: number, page: PageRequest, viewerId?: number) {
    const parent = async () => {
      await this.mustBeVisible(id)
      return { id }
    }
    return replies.page(this.db, {}, parent, page, viewerId)
  }

  /**
   * The thread around a post: its ancestors from the root down (the nearest 200) and its
   * descendants depth-first, oldest sibling first (the first 200).
   */
  async context(id: number, viewerId?: number): Promise<{ ancestors: PostRow[]; descendants: PostRow[] }> {
    const thread = await withAncestors.rows(this.db, {}, { id }, CONTEXT_LIMIT + 1, viewerId)
    if (thread.at(-1)?.[postAt.id] !== id) throw notFound('post')
    const ancestors = thread.slice(0, -1)
    // ORDER BY depth DESC makes the CTE's queue a stack (depth-first), so LIMIT keeps the
    // first 200 in depth-first order; the zero-padded path sorts them the same way.
    const ordered = await this.db.all<{ id: number }>(sql`
      with recursive d(id, depth, path) as (
        select id, 1, printf('%016d', id) from posts where reply_to_id = ${id}
        union all
        select p.id, d.depth + 1, d.path || '/' || printf('%016d', p.id) from d join posts p on p.reply_to_id = d.id
        order by 2 desc, 1 asc
        limit ${CONTEXT_LIMIT}
      )
      select id from d order by path`)
    const ids = ordered.map((r) => Number(r.id))
    if (ids.length === 0) return { ancestors, descendants: [] }
    const rows = await byIds.rows(this.db, {}, { ids: JSON.stringify(ids) }, CONTEXT_LIMIT, viewerId)
    const found = new Map(rows.map((r) => [r[postAt.id], r]))
    return { ancestors, descendants: ids.map((i) => found.get(i)).filter((r) => r !== undefined) }
  }

  /** Earlier versions of a post, oldest first. */
  async history(id: number, page: PageRequest) {
    const [after] = history.decode(page.cursor) ?? []
    const limit = page.limit ?? DEFAULT_PAGE
    await this.mustBeVisible(id)
    const rows = await this.db
      .select({ id: postEdits.id, text: postEdits.text, createdAt: postEdits.createdAt })
      .from(postEdits)
      .where(and(eq(postEdits.postId, id), after !== undefined ? gt(postEdits.id, after) : undefined))
      .orderBy(asc(postEdits.id))
      .limit(limit + 1)
    return history.page(rows, limit, (r) => [r.id])
  }

  /** The post's author and whether that account is disabled, for policies (no visibility filter). */
  #forPolicy(id: number) {
    return this.db
      .select({ authorId: posts.authorId, authorDisabled: users.disabled })
      .from(posts)
      .innerJoin(users, eq(users.id, posts.authorId))
      .where(eq(posts.id, id))
      .get()
  }

  /** Replaces the text (author only) and keeps the previous version in post_edits, in one batch. */
  async update(viewer: Viewer, id: number, rawText: string): Promise<PostRow> {
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
}

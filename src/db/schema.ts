import { sql } from 'drizzle-orm'
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

// Timestamps are integer milliseconds since the epoch. Counters are maintained by triggers
// (see migrations/*_counters.sql), so every writer — API, CLI, seed — keeps them exact.

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    username: text('username').notNull(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull().default(''),
    bio: text('bio').notNull().default(''),
    avatarUrl: text('avatar_url'),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
    passwordHash: text('password_hash').notNull(),
    followersCount: integer('followers_count').notNull().default(0),
    followingCount: integer('following_count').notNull().default(0),
    postsCount: integer('posts_count').notNull().default(0),
    createdAt: integer('created_at').notNull().default(now),
    updatedAt: integer('updated_at').notNull().default(now),
  },
  (t) => [
    uniqueIndex('users_username_lower_unique').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_lower_unique').on(sql`lower(${t.email})`),
    index('users_display_name_lower_idx').on(sql`lower(${t.displayName})`),
    check('users_role_check', sql`${t.role} in ('user', 'admin')`),
  ],
)

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** SHA-256 of the current refresh token's id; rotated on every refresh. */
    refreshTokenHash: text('refresh_token_hash').notNull(),
    userAgent: text('user_agent'),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
)

export const posts = sqliteTable(
  'posts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    // Not a foreign key: a reply keeps naming its parent after the parent is deleted.
    replyToId: integer('reply_to_id'),
    createdAt: integer('created_at').notNull(),
    editedAt: integer('edited_at'),
    likesCount: integer('likes_count').notNull().default(0),
    repliesCount: integer('replies_count').notNull().default(0),
  },
  (t) => [
    index('posts_author_id_idx').on(t.authorId, t.id),
    index('posts_reply_to_id_idx').on(t.replyToId, t.id),
    index('posts_top_level_idx').on(t.id).where(sql`${t.replyToId} is null`),
    index('posts_author_top_level_idx').on(t.authorId, t.id).where(sql`${t.replyToId} is null`),
  ],
)

/** Earlier versions of an edited post, newest last. */
export const postEdits = sqliteTable(
  'post_edits',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    postId: integer('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    /** When this version was written (the post's creation or its previous edit). */
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('post_edits_post_id_idx').on(t.postId, t.id)],
)

export const likes = sqliteTable(
  'likes',
  {
    // A unique, monotonic key for "most recent like first" pages.
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    postId: integer('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('likes_user_post_unique').on(t.userId, t.postId),
    index('likes_post_id_idx').on(t.postId, t.id),
    index('likes_user_id_idx').on(t.userId, t.id),
  ],
)

export const follows = sqliteTable(
  'follows',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    followerId: integer('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: integer('followee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('follows_pair_unique').on(t.followerId, t.followeeId),
    index('follows_follower_id_idx').on(t.followerId, t.id),
    index('follows_followee_id_idx').on(t.followeeId, t.id),
    check('follows_not_self', sql`${t.followerId} <> ${t.followeeId}`),
  ],
)

/**
 * Home timelines, written on fan-out: one row per (reader, post) for the reader's own posts and
 * those of every account they follow. Kept exact by the triggers of
 * migrations/0004_timeline_jobs.sql, so every writer (API, CLI, seed, cascades) maintains it:
 * small fan-outs at once, large ones through timelineJobs moments later.
 * Migration 0003 makes it WITHOUT ROWID (the primary key is the table), which Drizzle cannot say.
 */
export const timelineEntries = sqliteTable(
  'timeline_entries',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Not a foreign key: its cascade would need an index on post_id, as large as the table itself.
    postId: integer('post_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.postId] })],
)

/**
 * Fan-outs too large to write inside the request that caused them, done later in bounded chunks
 * by the FanoutWorker (src/modules/timeline/fanout.ts). The triggers of
 * migrations/0004_timeline_jobs.sql queue them: `post` and `unpost` (a post by an account with
 * many followers was written or deleted: post_id, author_id) walk the author's follows by id;
 * `follow` and `unfollow` (of an account with many posts: follower_id, followee_id) walk the
 * followee's posts by id. `cursor` is the last id done. No foreign keys: a job outlives the rows
 * it names, whose removal is often what it is about. AUTOINCREMENT: an id is never reused, so a
 * compare-and-set on (id, cursor) can never hit a newer job.
 */
export const timelineJobs = sqliteTable(
  'timeline_jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ['post', 'unpost', 'follow', 'unfollow'] }).notNull(),
    postId: integer('post_id'),
    authorId: integer('author_id'),
    followerId: integer('follower_id'),
    followeeId: integer('followee_id'),
    cursor: integer('cursor').notNull().default(0),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [
    // What a removal must also cover: the posts of pending `unpost` jobs of an author, the
    // followers of pending `unfollow` jobs of a followee (see the migration).
    index('timeline_jobs_unpost_idx').on(t.authorId).where(sql`${t.kind} = 'unpost'`),
    index('timeline_jobs_unfollow_idx').on(t.followeeId).where(sql`${t.kind} = 'unfollow'`),
    check(
      'timeline_jobs_kind_check',
      sql.join(
        [
          sql`(${t.kind} in ('post', 'unpost') and ${t.postId} is not null and ${t.authorId} is not null)`,
          sql`(${t.kind} in ('follow', 'unfollow') and ${t.followerId} is not null and ${t.followeeId} is not null)`,
        ],
        sql` or `,
      ),
    ),
  ],
)

/** `Idempotency-Key` of `POST /posts`: the first result is replayed for 24 hours. */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    postId: integer('post_id'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
)

export type UserRow = typeof users.$inferSelect
export type SessionRow = typeof sessions.$inferSelect
export type PostRow = typeof posts.$inferSelect

/** Single-use tokens mailed to a user (email verification, password reset); stored only hashed. */
export const accountTokens = sqliteTable(
  'account_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['verify_email', 'password_reset'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    /** The address the token was mailed to: verifying proves this one, not a later one. */
    email: text('email').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [uniqueIndex('account_tokens_hash_unique').on(t.tokenHash), index('account_tokens_user_id_idx').on(t.userId)],
)

/**
 * Mail to deliver. A request writes its row in the same atomic batch as whatever the mail is
 * about; a worker claims rows with a lease, delivers them and marks them sent.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    createdAt: integer('created_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    claimedBy: text('claimed_by'),
    claimedUntil: integer('claimed_until'),
    sentAt: integer('sent_at'),
    failedAt: integer('failed_at'),
    lastError: text('last_error'),
  },
  (t) => [index('outbox_pending_idx').on(t.nextAttemptAt).where(sql`${t.sentAt} is null and ${t.failedAt} is null`)],
)

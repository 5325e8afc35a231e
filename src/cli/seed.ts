import type { Client, InStatement, InValue, Row, Transaction } from '@libsql/client'
import { SingleBar } from 'cli-progress'
import { type Command, InvalidArgumentError } from 'commander'
import type { Config } from '../config'
import type { Database } from '../db/client'
import { createLogger } from '../logger'
import { PasswordHasher } from '../modules/auth/password'
import { FanoutWorker } from '../modules/timeline/fanout'
import { table } from './terminal'

// `pamps seed`: realistic demo data at benchmark scale (issue 6).
//
// Everything random comes from the --random-seed: faker is seeded with it for names and text,
// and an sfc32 stream per purpose (derived from the seed and a name) drives every other
// choice, so the same seed and sizes give the same rows. Relations only connect the users
// and posts this run creates, so appending to a database never duplicates a pair.
//
// Rows go in through plain multi-row INSERTs, so the counter triggers of
// migrations/0001_counters.sql keep every count exact, exactly as for the API's writes.
// So do the timeline triggers of migrations/0004_timeline_jobs.sql, except in one transaction:
// there the fan-out triggers are dropped for the run and the new timeline entries written
// afterwards by one sorted statement (see `timelineSql`), then the triggers recreated, so no
// fan-out is queued. In batches the triggers stay live, and the fan-outs they queue (follows of
// accounts with many posts) are written before the seed returns.

type Faker = typeof import('@faker-js/faker')['faker']

export interface SeedDeps {
  /** Opens (and migrates) the database, runs `fn`, closes it. */
  withDatabase: <T>(fn: (database: Database, config: Config) => Promise<T>) => Promise<T>
  /** An error the CLI reports as one line on stderr. */
  fail: (message: string) => Error
}

/** The sizes of one run, defaults applied and checked. */
export interface SeedPlan {
  users: number
  posts: number
  follows: number
  likes: number
  heavyFollows: number
  randomSeed: number
  /** Rows per transaction (live indexes); undefined = one transaction for the whole seed. */
  batch: number | undefined
  password: string
}

interface SeedOptions {
  users?: number
  posts?: number
  follows?: number
  likes?: number
  heavyFollows?: number
  randomSeed?: number
  batch?: number
  password: string
}

const MAX_ROWS = 50_000_000
/** SQLite's limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER). */
const MAX_PARAMS = 32_766
/** Rows per transaction against a remote database (an HTTP request each) unless --batch says otherwise. */
const REMOTE_BATCH = 20_000
/** The seed connection's page cache, in KiB: large random index inserts stay in memory. */
const CACHE_KIB = 262_144
const DEFAULT_PASSWORD = 'pamps-demo-password'
/** Chunks ten times the server's: nothing waits on the seed, and remote chunks are a request each. */
const SEED_FANOUT = { followersPerChunk: 2000, postsPerChunk: 40_000 }

/** Seeded data lives in a fixed year, so the same seed gives the same timestamps on any day. */
const WINDOW_END = Date.UTC(2026, 10, 1)
const WINDOW = 365 * 86_400_000
const WINDOW_START = WINDOW_END - WINDOW
/** Users join during the first 30% of the year; posts, follows and likes follow. */
const POSTS_START = WINDOW_START + Math.floor(WINDOW * 0.3)

/** Zipf exponents: followers per user, posts per user, likes per post. */
const FOLLOW_ZIPF = 0.9
const POST_ZIPF = 0.7
const LIKE_ZIPF = 0.8
/** Share of posts that reply to an earlier post, and of those that continue a recent conversation. */
const REPLY_SHARE = 0.3
const CONTINUE_SHARE = 0.45
const SELF_REPLY_SHARE = 0.2

/** Sort keys pack (second in the window, row index) into one exact double. */
const INDEX_SPAN = 2 ** 28

// ---------------------------------------------------------------------------------------
// The command

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer')
  const n = Number(value)
  if (n > MAX_ROWS) throw new InvalidArgumentError(`expected at most ${MAX_ROWS}`)
  return n
}

function positive(value: string): number {
  const n = count(value)
  if (n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

function seedValue(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff)
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295')
  return Number(value)
}

export function registerSeed(program: Command, deps: SeedDeps): void {
  program
    .command('seed')
    .description('fill the database with realistic demo data; deterministic for a given --random-seed')
    .option('--users <n>', 'users to create (default 100)', count)
    .option('--posts <n>', 'posts to create, a share of them replies (default 10 per user)', count)
    .option('--follows <n>', 'follows among the new users, power-law followers (default 20 per user)', count)
    .option('--likes <n>', 'likes of the new posts by the new users (default 2 per post)', count)
    .option('--heavy-follows <k>', 'make the first new user, "heavy", follow K others (on top of --follows)', count)
    .option('--random-seed <s>', 'seed of every random choice, 0 to 4294967295 (default: random, printed)', seedValue)
    .option(
      '--batch <n>',
      'rows per transaction, indexes kept live (default: the whole seed in one transaction for a file database, 20000 otherwise)',
      positive,
    )
    .option('--password <password>', 'the password of every seeded user', DEFAULT_PASSWORD)
    .action(async (opts: SeedOptions) => {
      const plan = resolvePlan(opts, deps.fail)
      const faker = await loadFaker(deps.fail)
      await deps.withDatabase(async (database, config) => {
        const report = await seed(database, config, plan, faker, deps.fail)
        console.log(summary(config, plan, report))
      })
    })
}

async function loadFaker(fail: SeedDeps['fail']): Promise<Faker> {
  try {
    return (await import('@faker-js/faker')).faker
  } catch {
    throw fail('seed needs @faker-js/faker, a dev dependency: run npm install (without --omit=dev)')
  }
}

/** Applies the defaults and refuses sizes that cannot be met (more distinct pairs than exist). */
export function resolvePlan(opts: SeedOptions, fail: SeedDeps['fail']): SeedPlan {
  const users = opts.users ?? 100
  const heavyFollows = opts.heavyFollows ?? 0
  const posts = opts.posts ?? Math.min(10 * users, MAX_ROWS)
  const heavy = heavyFollows > 0
  const pool = users - (heavy ? 1 : 0)
  const followCapacity = Math.max(0, pool * (pool - 1)) + (heavy ? pool : 0)
  const likeCapacity = posts * Math.max(0, users - 1)
  const follows = opts.follows ?? Math.min(20 * users, Math.floor(followCapacity / 2), MAX_ROWS)
  const likes = opts.likes ?? Math.min(2 * posts, Math.floor(likeCapacity / 2), MAX_ROWS)
  if (posts > 0 && users === 0) throw fail('--posts needs at least one user (--users)')
  if (heavy && heavyFollows > users - 1)
    throw fail(`--heavy-follows ${heavyFollows} needs at least ${heavyFollows + 1} users (--users ${users})`)
  if (follows > followCapacity)
    throw fail(`--follows ${follows} is more than the ${followCapacity} distinct pairs among ${users} users`)
  if (likes > likeCapacity)
    throw fail(`--likes ${likes} is more than the ${likeCapacity} distinct (user, post) pairs available`)
  if (opts.password.length < 8 || opts.password.length > 128) throw fail('--password must be 8 to 128 characters')
  const randomSeed = opts.randomSeed ?? crypto.getRandomValues(new Uint32Array(1))[0]!
  return { users, posts, follows, likes, heavyFollows, randomSeed, batch: opts.batch, password: opts.password }
}

// ---------------------------------------------------------------------------------------
// Randomness

type Rng = () => number

/** splitmix32: expands one 32-bit value into a stream (used to seed sfc32). */
function splitmix32(seed: number): () => number {
  let x = seed | 0
  return () => {
    x = (x + 0x9e3779b9) | 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    return (z ^ (z >>> 15)) >>> 0
  }
}

/** A reproducible stream in [0, 1) for (seed, purpose): sfc32, fast and good enough for data. */
export function rngFor(seed: number, purpose: string): Rng {
  let h = 0x811c9dc5
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193)
  const init = splitmix32((seed ^ h) >>> 0)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  const next = () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return next
}

const below = (rng: Rng, n: number) => Math.floor(rng() * n)
const pick = <T>(rng: Rng, items: readonly T[]): T => items[below(rng, items.length)] as T

/** A random order of 0..n-1: who is famous, who is prolific. */
function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = below(rng, i + 1)
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

/** Draws ranks 0..n-1 with P(r) ∝ 1/(r+1)^s (Zipf): a few items get most of the mass. */
function zipf(n: number, s: number): (u: number) => number {
  const cdf = new Float64Array(n)
  let acc = 0
  for (let r = 0; r < n; r++) {
    acc += (r + 1) ** -s
    cdf[r] = acc
  }
  return (u) => {
    const target = u * acc
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cdf[mid] as number) < target) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/**
 * Splits `total` among n items by popularity (Zipf over a random order), never giving an item
 * more than `cap(item)`: what a full item would get goes to the next draw that has room.
 */
function allocate(total: number, order: Int32Array, s: number, cap: (item: number) => number, rng: Rng): Int32Array {
  const n = order.length
  const counts = new Int32Array(n)
  if (n === 0 || total === 0) return counts
  const draw = zipf(n, s)
  for (let i = 0; i < total; i++) counts[order[draw(rng())]!]!++
  let overflow = 0
  for (let i = 0; i < n; i++) {
    const room = cap(i)
    if (counts[i]! > room) {
      overflow += counts[i]! - room
      counts[i] = room
    }
  }
  // Redistribute with the same popularity; near saturation, a sweep finishes what draws cannot.
  for (let misses = 0; overflow > 0 && misses < 1000; ) {
    const i = order[draw(rng())]!
    if (counts[i]! < cap(i)) {
      counts[i]!++
      overflow--
      misses = 0
    } else misses++
  }
  for (let r = 0; overflow > 0 && r < n; r++) {
    const i = order[r]!
    const add = Math.min(cap(i) - counts[i]!, overflow)
    counts[i]! += add
    overflow -= add
  }
  return counts
}

/** k distinct values of 0..m-1 into `out` (Floyd's algorithm: exactly k draws, no retries). */
function sampleDistinct(m: number, k: number, rng: Rng, out: Set<number>): Set<number> {
  out.clear()
  if (k >= m) {
    for (let i = 0; i < m; i++) out.add(i)
    return out
  }
  for (let j = m - k; j < m; j++) {
    const t = below(rng, j + 1)
    out.add(out.has(t) ? j : t)
  }
  return out
}

// ---------------------------------------------------------------------------------------
// What to write

interface NewUsers {
  username: string[]
  email: string[]
  displayName: string[]
  bio: string[]
  createdAt: Float64Array
  heavy: string | undefined
}

interface NewPosts {
  author: Int32Array
  /** Index of the new post it replies to, or -1. */
  parent: Int32Array
  createdAt: Float64Array
  replies: number
  deepest: number
}

/** Pairs of new-row indices, ordered by time: `keys` hold (second in the window, pair index). */
interface Pairs {
  a: Int32Array
  b: Int32Array
  keys: Float64Array
}

/** Cuts to at most `max` UTF-16 units (what the API's maxLength counts) on a code point boundary. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let out = ''
  for (const ch of text) {
    if (out.length + ch.length > max) break
    out += ch
  }
  return out.trim()
}

function usernameBase(raw: string): string {
  const base = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 24)
  return base.length >= 3 ? base : `${base}user`.slice(0, 24)
}

/** A username of 3–30 of [a-z0-9_] not in `taken` (which it joins). */
function uniqueUsername(base: string, taken: Set<string>, next: Map<string, number>): string {
  if (!taken.has(base)) {
    taken.add(base)
    return base
  }
  for (let n = next.get(base) ?? 2; ; n++) {
    const suffix = `_${n}`
    const name = base.slice(0, 30 - suffix.length) + suffix
    if (!taken.has(name)) {
      next.set(base, n + 1)
      taken.add(name)
      return name
    }
  }
}

function planUsers(
  faker: Faker,
  rng: Rng,
  n: number,
  heavy: boolean,
  taken: { usernames: Set<string>; emails: Set<string> },
): NewUsers {
  const users: NewUsers = {
    username: new Array(n),
    email: new Array(n),
    displayName: new Array(n),
    bio: new Array(n),
    createdAt: new Float64Array(n),
    heavy: undefined,
  }
  const next = new Map<string, number>()
  const step = (POSTS_START - WINDOW_START) / Math.max(n, 1)
  const tlds = ['com', 'org', 'net']
  for (let i = 0; i < n; i++) {
    const firstName = faker.person.firstName()
    const lastName = faker.person.lastName()
    const base = heavy && i === 0 ? 'heavy' : usernameBase(faker.internet.username({ firstName, lastName }))
    const username = uniqueUsername(base, taken.usernames, next)
    if (heavy && i === 0) users.heavy = username
    // Reserved example domains: no seeded address can ever receive mail.
    let email = `${username}@example.${pick(rng, tlds)}`
    for (let k = 2; taken.emails.has(email); k++) email = `${username}+${k}@example.${pick(rng, tlds)}`
    taken.emails.add(email)
    const style = rng()
    const displayName =
      style < 0.8 ? `${firstName} ${lastName}` : style < 0.93 ? firstName : `${firstName} ${faker.internet.emoji()}`
    const kind = rng()
    const bio =
      kind < 0.55
        ? faker.person.bio()
        : kind < 0.75
          ? `${faker.person.jobTitle()} in ${faker.location.city()}`
          : kind < 0.85
            ? `${faker.person.bio()} · ${faker.hacker.phrase()}`
            : ''
    users.username[i] = username
    users.email[i] = email
    users.displayName[i] = clip(displayName, 50)
    users.bio[i] = clip(bio, 300)
    users.createdAt[i] = WINDOW_START + Math.floor((i + rng()) * step)
  }
  return users
}

function planPosts(rng: Rng, users: number, n: number): NewPosts {
  const posts: NewPosts = {
    author: new Int32Array(n),
    parent: new Int32Array(n).fill(-1),
    createdAt: new Float64Array(n),
    replies: 0,
    deepest: 0,
  }
  if (n === 0) return posts
  const activity = permutation(users, rng)
  const draw = zipf(users, POST_ZIPF)
  const depth = new Uint32Array(n)
  // The latest replies: answering one of them continues a conversation, so threads grow deep.
  const recent = new Int32Array(64)
  let recentCount = 0
  const step = (WINDOW_END - POSTS_START) / n
  for (let j = 0; j < n; j++) {
    posts.createdAt[j] = POSTS_START + Math.floor((j + rng()) * step)
    let parent = -1
    if (j > 0 && rng() < REPLY_SHARE) {
      if (recentCount > 0 && rng() < CONTINUE_SHARE) parent = recent[below(rng, Math.min(recentCount, 64))]!
      else parent = j - 1 - Math.floor(rng() ** 2 * Math.min(j, 2000))
    }
    posts.author[j] = parent >= 0 && rng() < SELF_REPLY_SHARE ? posts.author[parent]! : activity[draw(rng())]!
    if (parent >= 0) {
      posts.parent[j] = parent
      posts.replies++
      depth[j] = depth[parent]! + 1
      if (depth[j]! > posts.deepest) posts.deepest = depth[j]!
      recent[recentCount % 64] = j
      recentCount++
    }
  }
  return posts
}

/** Orders pairs by a time each (`time(i)` in ms within the window), rounded up to whole seconds. */
function byTime(n: number, time: (i: number) => number): Float64Array {
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) keys[i] = Math.ceil((time(i) - WINDOW_START) / 1000) * INDEX_SPAN + i
  return keys.sort()
}

/**
 * Who follows whom: followers per user follow a Zipf law over a random "fame" order (a few
 * accounts have most followers), followers are drawn uniformly; no self-follows, no repeats.
 * The heavy user (index 0) follows `heavyFollows` others and is never drawn otherwise.
 */
function planFollows(rng: Rng, users: NewUsers, total: number, heavyFollows: number): Pairs {
  const n = users.username.length
  const first = heavyFollows > 0 ? 1 : 0
  const pool = n - first
  const size = total + heavyFollows
  const a = new Int32Array(size)
  const b = new Int32Array(size)
  const chosen = new Set<number>()
  let k = 0
  if (total > 0) {
    const cap = (u: number) => (u >= first ? pool - 1 : pool)
    const counts = allocate(total, permutation(n, rng), FOLLOW_ZIPF, cap, rng)
    for (let followee = 0; followee < n; followee++) {
      const c = counts[followee]!
      if (c === 0) continue
      const self = followee - first
      for (const t of sampleDistinct(cap(followee), c, rng, chosen)) {
        a[k] = first + (self >= 0 && t >= self ? t + 1 : t)
        b[k] = followee
        k++
      }
    }
  }
  if (heavyFollows > 0)
    for (const t of sampleDistinct(n - 1, heavyFollows, rng, chosen)) {
      a[k] = 0
      b[k] = t + 1
      k++
    }
  const keys = byTime(size, (i) => {
    const since = Math.max(users.createdAt[a[i]!]!, users.createdAt[b[i]!]!, POSTS_START)
    return since + rng() * (WINDOW_END - since)
  })
  return { a, b, keys }
}

/** Who likes what: likes per post follow a Zipf law; likers are drawn uniformly, never the author. */
function planLikes(rng: Rng, users: number, posts: NewPosts, total: number): Pairs {
  const n = posts.author.length
  const a = new Int32Array(total)
  const b = new Int32Array(total)
  const chosen = new Set<number>()
  let k = 0
  const counts = allocate(total, permutation(n, rng), LIKE_ZIPF, () => users - 1, rng)
  for (let post = 0; post < n; post++) {
    const c = counts[post]!
    if (c === 0) continue
    const author = posts.author[post]!
    for (const t of sampleDistinct(users - 1, c, rng, chosen)) {
      a[k] = t >= author ? t + 1 : t
      b[k] = post
      k++
    }
  }
  // Most likes come soon after the post.
  const keys = byTime(total, (i) => {
    const at = posts.createdAt[b[i]!]!
    return at + rng() ** 3 * (WINDOW_END - at)
  })
  return { a, b, keys }
}

interface TextPools {
  sentences: string[]
  hashtags: string[]
  emojis: string[]
  links: string[]
}

const REACTIONS = [
  'This.',
  'So true!',
  'lol',
  'Agreed 💯',
  'Source?',
  'Thanks for sharing!',
  'Interesting, tell me more.',
  'Hard disagree.',
  'Came here to say this.',
  'Bookmarking this one.',
  '+1',
  'Wait, really?',
  'Underrated take.',
  'Same here.',
  'Congrats! 🎉',
  'Oh no 😬',
  'Can confirm.',
  'Big if true.',
]

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** Phrases built once with faker; posts combine them, which is far cheaper per post. */
function textPools(faker: Faker): TextPools {
  const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1)
  const makers: Array<() => string> = [
    () => faker.hacker.phrase(),
    () => faker.hacker.phrase(),
    () => faker.company.catchPhrase(),
    () => capitalize(faker.word.words({ count: { min: 3, max: 10 } })),
    () => faker.commerce.productDescription(),
    () => faker.food.description(),
    () => `Just finished "${faker.book.title()}" by ${faker.book.author()}`,
    () => `Today I learned: ${lowerFirst(faker.hacker.phrase())}`,
    () => {
      const noun = faker.hacker.noun()
      return `Anyone else ${faker.hacker.ingverb()} ${faker.hacker.adjective()} ${noun}${noun.endsWith('s') ? 'es' : 's'} today?`
    },
    () => `Hot take: ${faker.company.buzzPhrase()} is overrated`,
    () => `Greetings from ${faker.location.city()}, ${faker.location.country()}!`,
    () => `${capitalize(faker.word.interjection())}, ${faker.word.words({ count: { min: 2, max: 8 } })}`,
  ]
  const sentence = (text: string) => {
    const trimmed = capitalize(clip(text.trim(), 300))
    return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
  }
  const sentences = Array.from({ length: 4000 }, (_, i) => sentence(makers[i % makers.length]!()))
  const hashtags = Array.from(
    { length: 300 },
    () =>
      `#${
        faker.word
          .noun()
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '') || 'pamps'
      }`,
  )
  const emojis = Array.from({ length: 150 }, () => faker.internet.emoji())
  const links = Array.from({ length: 200 }, () => `${faker.internet.url()}/${faker.lorem.slug({ min: 1, max: 3 })}`)
  return { sentences: sentences.filter(Boolean), hashtags, emojis, links }
}

/** 1 to 500 code points, already trimmed (what PostService.normalizeText accepts unchanged). */
function postText(rng: Rng, pools: TextPools, mention: string | undefined): string {
  const parts: string[] = []
  if (mention) parts.push(`@${mention}`)
  if (mention && rng() < 0.25) parts.push(pick(rng, REACTIONS))
  else {
    const r = rng()
    const sentences = r < 0.45 ? 1 : r < 0.8 ? 2 : r < 0.95 ? 3 : 8
    for (let i = 0; i < sentences; i++) parts.push(pick(rng, pools.sentences))
    if (rng() < 0.05) parts.push(pick(rng, pools.links))
    if (rng() < 0.2) for (let i = 1 + below(rng, 3); i > 0; i--) parts.push(pick(rng, pools.hashtags))
  }
  if (rng() < 0.1) parts.push(pick(rng, pools.emojis))
  // Whole parts only, up to 500 UTF-16 units (so at most 500 code points): no cut words.
  let text = parts[0] as string
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string
    if (text.length + 1 + part.length <= 500) text += ` ${part}`
  }
  return text
}

// ---------------------------------------------------------------------------------------
// Writing

/** Where rows go: one long transaction (file databases) or a transaction per `batch` rows. */
interface Sink {
  query(sql: string): Promise<Row[]>
  /** Runs one statement at once; returns the rows it changed. */
  run(sql: string): Promise<number>
  write(stmt: InStatement, rows: number): Promise<void>
  flush(): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
  readonly rowsPerStatement: number
}

/**
 * The whole seed in one write transaction: a failure (or Ctrl-C) leaves the database as it
 * was. The client has a single connection, which the transaction holds, so every statement
 * of the run goes through it.
 */
class TransactionSink implements Sink {
  readonly rowsPerStatement = MAX_PARAMS
  private constructor(private readonly tx: Transaction) {}

  static async open(client: Client): Promise<TransactionSink> {
    return new TransactionSink(await client.transaction('write'))
  }

  async query(sql: string) {
    return (await this.tx.execute(sql)).rows
  }
  async run(sql: string) {
    return (await this.tx.execute(sql)).rowsAffected
  }
  async write(stmt: InStatement) {
    await this.tx.execute(stmt)
  }
  async flush() {}
  async commit() {
    await this.tx.commit()
  }
  async abort() {
    try {
      await this.tx.rollback()
    } catch {
      // already rolled back or closed
    } finally {
      this.tx.close()
    }
  }
}

/** A transaction (one `client.batch`) per `batch` rows: each leaves every count exact. */
class BatchSink implements Sink {
  #pending: InStatement[] = []
  #rows = 0
  constructor(
    private readonly client: Client,
    private readonly batch: number,
  ) {}

  get rowsPerStatement() {
    return this.batch
  }
  async query(sql: string) {
    return (await this.client.execute(sql)).rows
  }
  async run(sql: string) {
    return (await this.client.execute(sql)).rowsAffected
  }
  async write(stmt: InStatement, rows: number) {
    this.#pending.push(stmt)
    this.#rows += rows
    if (this.#rows >= this.batch) await this.flush()
  }
  async flush() {
    if (this.#pending.length === 0) return
    const stmts = this.#pending
    this.#pending = []
    this.#rows = 0
    await this.client.batch(stmts, 'write')
  }
  async commit() {
    await this.flush()
  }
  async abort() {}
}

interface TableSpec {
  name: 'users' | 'posts' | 'follows' | 'likes'
  columns: string[]
}

const USERS: TableSpec = {
  name: 'users',
  columns: [
    'id',
    'username',
    'email',
    'display_name',
    'bio',
    'email_verified',
    'password_hash',
    'created_at',
    'updated_at',
  ],
}
const POSTS: TableSpec = { name: 'posts', columns: ['id', 'author_id', 'text', 'reply_to_id', 'created_at'] }
const FOLLOWS: TableSpec = { name: 'follows', columns: ['follower_id', 'followee_id', 'created_at'] }
const LIKES: TableSpec = { name: 'likes', columns: ['user_id', 'post_id', 'created_at'] }

const insertSql = new Map<string, string>()
function insertStatement(spec: TableSpec, rows: number): string {
  const key = `${spec.name}:${rows}`
  let sql = insertSql.get(key)
  if (!sql) {
    const tuple = `(${spec.columns.map(() => '?').join(', ')})`
    sql = `INSERT INTO ${spec.name} (${spec.columns.join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}`
    insertSql.set(key, sql)
  }
  return sql
}

/**
 * The triggers that write timeline entries as posts and follows go in. At benchmark scale they
 * would make about 20M random B-tree inserts (each follow copies its followee's posts); one
 * transaction drops them and writes the same entries with `timelineSql` instead.
 */
const FAN_OUT_TRIGGERS = ['timeline_posts_after_insert', 'timeline_follows_after_insert']

/**
 * The timeline entries of this run, in primary-key order: each new post in its author's
 * timeline, and each new follow's follower gets every post of its followee. Relations only join
 * rows of the same run, so nothing else is missing: older follows name no new user, and new
 * follows name no older post. New users are those above `userBase`.
 */
function timelineSql(userBase: number): string {
  return `INSERT INTO timeline_entries (user_id, post_id)
    SELECT author_id, id FROM posts WHERE author_id > ${userBase}
    UNION ALL
    SELECT f.follower_id, p.id FROM follows f JOIN posts p ON p.author_id = f.followee_id WHERE f.follower_id > ${userBase}
    ORDER BY 1, 2`
}

/** How many entries `timelineSql` writes: every new post, once more per follower of its author. */
function timelineRows(posts: NewPosts, follows: Pairs, users: number): number {
  const postsBy = new Float64Array(users)
  for (const author of posts.author) postsBy[author]!++
  let rows = posts.author.length
  for (const followee of follows.b) rows += postsBy[followee]!
  return rows
}

/** Lets timers (the progress bar, signals) run: every statement above resolves synchronously. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve))

async function insertRows(
  sink: Sink,
  spec: TableSpec,
  total: number,
  push: (i: number, args: InValue[]) => void,
  progress: Progress,
): Promise<void> {
  const perStatement = Math.max(1, Math.min(Math.floor(MAX_PARAMS / spec.columns.length), sink.rowsPerStatement))
  for (let start = 0; start < total; start += perStatement) {
    const rows = Math.min(perStatement, total - start)
    const args: InValue[] = []
    for (let i = start; i < start + rows; i++) push(i, args)
    await sink.write({ sql: insertStatement(spec, rows), args }, rows)
    progress.add(rows)
    await breathe()
  }
  await sink.flush()
}

// ---------------------------------------------------------------------------------------
// Progress

/** A cli-progress bar on a terminal; otherwise a plain line every two seconds (logs, CI). */
class Progress {
  #bar: SingleBar | undefined
  #phase = ''
  #total = 0
  #done = 0
  #started = 0
  #lastLine = 0
  #unit = 'rows'

  constructor(private readonly tty: boolean) {}

  start(phase: string, total: number, unit = 'rows') {
    this.#phase = phase
    this.#unit = unit
    this.#total = total
    this.#done = 0
    this.#started = performance.now()
    this.#lastLine = this.#started
    if (this.tty && total > 0) {
      this.#bar = new SingleBar({
        format: `${phase.padEnd(8)} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        barsize: 30,
        etaBuffer: 50,
      })
      this.#bar.start(total, 0, { rate: 0 })
    }
  }

  add(rows: number) {
    this.#done += rows
    const now = performance.now()
    const rate = Math.round(this.#done / Math.max((now - this.#started) / 1000, 1e-3))
    if (this.#bar) this.#bar.update(this.#done, { rate })
    else if (now - this.#lastLine >= 2000) {
      this.#lastLine = now
      const pct = Math.floor((100 * this.#done) / Math.max(this.#total, 1))
      process.stderr.write(`seed: ${this.#phase} ${this.#done}/${this.#total} ${this.#unit} (${pct}%), ${rate}/s\n`)
    }
  }

  /** Ends the phase; returns its seconds. */
  end(): number {
    const seconds = (performance.now() - this.#started) / 1000
    if (this.#bar) {
      this.#bar.update(this.#done, { rate: Math.round(this.#done / Math.max(seconds, 1e-3)) })
      this.#bar.stop()
      this.#bar = undefined
    } else if (!this.tty && this.#total > 0)
      process.stderr.write(`seed: ${this.#phase} done, ${this.#done} ${this.#unit} in ${seconds.toFixed(1)} s\n`)
    return seconds
  }

  note(message: string) {
    process.stderr.write(`seed: ${message}\n`)
  }
}

// ---------------------------------------------------------------------------------------
// The run

interface SeedReport {
  tables: Array<{ name: string; rows: number; seconds: number }>
  /** Time outside the tables: hashing, reading, index rebuilds, commit. */
  otherSeconds: number
  totalSeconds: number
  rebuilt: string[]
  heavy: string | undefined
  replies: number
  deepest: number
  oneTransaction: boolean
  /** Fan-outs queued by the live triggers of a batched seed, written before it returned. */
  fanouts: number
}

const num = (v: unknown) => Number(v ?? 0)

async function seed(
  database: Database,
  config: Config,
  plan: SeedPlan,
  faker: Faker,
  fail: SeedDeps['fail'],
): Promise<SeedReport> {
  const started = performance.now()
  const progress = new Progress(Boolean(process.stderr.isTTY))
  // One argon2id hash, shared by every seeded user (hashing each would take hours).
  const passwordHash = await new PasswordHasher(config.password).hash(plan.password)

  faker.seed(plan.randomSeed)
  const pools = textPools(faker)

  const oneTransaction = plan.batch === undefined && database.mode === 'file'
  // Per connection, for this process only. No `synchronous` change: with one commit (or one
  // per batch) the fsyncs cost nothing measurable, and a crash stays as safe as the server's.
  if (database.mode === 'file') await database.client.execute(`PRAGMA cache_size = -${CACHE_KIB}`)
  const firstLine = (error: unknown) =>
    String((error as Error)?.message ?? error)
      .split('\n')[0]
      ?.slice(0, 300)
  let sink: Sink
  try {
    sink = oneTransaction
      ? await TransactionSink.open(database.client)
      : new BatchSink(database.client, plan.batch ?? REMOTE_BATCH)
  } catch (error) {
    throw fail(`cannot start a write transaction: ${firstLine(error)}`)
  }

  const report: SeedReport = {
    tables: [],
    otherSeconds: 0,
    totalSeconds: 0,
    rebuilt: [],
    heavy: undefined,
    replies: 0,
    deepest: 0,
    oneTransaction,
    fanouts: 0,
  }
  try {
    const [ids] = await sink.query(
      `SELECT (SELECT coalesce(max(id), 0) FROM users) AS max_user, (SELECT coalesce(max(id), 0) FROM posts) AS max_post,
        (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'users') AS seq_user,
        (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'posts') AS seq_post,
        (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts,
        (SELECT count(*) FROM follows) AS follows, (SELECT count(*) FROM likes) AS likes`,
    )
    const userBase = Math.max(num(ids?.max_user), num(ids?.seq_user))
    const postBase = Math.max(num(ids?.max_post), num(ids?.seq_post))
    const taken = { usernames: new Set<string>(), emails: new Set<string>() }
    if (num(ids?.users) > 0)
      for (const row of await sink.query('SELECT lower(username) AS u, lower(email) AS e FROM users')) {
        taken.usernames.add(String(row.u))
        taken.emails.add(String(row.e))
      }

    // In one transaction, a table that grows by more than it holds gets its indexes dropped and
    // rebuilt afterwards (one sort instead of millions of random inserts). The definitions are
    // replayed verbatim in the same transaction, so the schema never changes. So are the
    // fan-out triggers, after `timelineSql`; the counter triggers stay.
    const indexes: Array<{ name: string; sql: string }> = []
    if (oneTransaction) {
      const adding = {
        users: plan.users,
        posts: plan.posts,
        follows: plan.follows + plan.heavyFollows,
        likes: plan.likes,
      }
      const grow = (Object.keys(adding) as Array<keyof typeof adding>).filter((t) => adding[t] > num(ids?.[t]))
      if (grow.length > 0) {
        const rows = await sink.query(
          `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${grow
            .map((t) => `'${t}'`)
            .join(', ')}) ORDER BY name`,
        )
        for (const row of rows) {
          indexes.push({ name: String(row.name), sql: String(row.sql) })
          await sink.query(`DROP INDEX "${String(row.name).replaceAll('"', '""')}"`)
        }
      }
    }
    const triggers: Array<{ name: string; sql: string }> = []
    if (oneTransaction)
      for (const row of await sink.query(
        `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (${FAN_OUT_TRIGGERS.map((t) => `'${t}'`).join(', ')}) ORDER BY name`,
      )) {
        triggers.push({ name: String(row.name), sql: String(row.sql) })
        await sink.query(`DROP TRIGGER "${String(row.name).replaceAll('"', '""')}"`)
      }

    // Users
    progress.start('users', plan.users)
    const users = planUsers(faker, rngFor(plan.randomSeed, 'users'), plan.users, plan.heavyFollows > 0, taken)
    report.heavy = users.heavy
    await insertRows(
      sink,
      USERS,
      plan.users,
      (i, args) => {
        const at = users.createdAt[i]!
        args.push(
          userBase + i + 1,
          users.username[i]!,
          users.email[i]!,
          users.displayName[i]!,
          users.bio[i]!,
          1,
          passwordHash,
          at,
          at,
        )
      },
      progress,
    )
    report.tables.push({ name: 'users', rows: plan.users, seconds: progress.end() })

    // Posts, replies and threads
    progress.start('posts', plan.posts)
    const posts = planPosts(rngFor(plan.randomSeed, 'posts'), plan.users, plan.posts)
    report.replies = posts.replies
    report.deepest = posts.deepest
    const textRng = rngFor(plan.randomSeed, 'text')
    await insertRows(
      sink,
      POSTS,
      plan.posts,
      (j, args) => {
        const author = posts.author[j]!
        const parent = posts.parent[j]!
        const parentAuthor = parent >= 0 ? posts.author[parent]! : -1
        const mention = parent >= 0 && parentAuthor !== author ? users.username[parentAuthor] : undefined
        args.push(
          postBase + j + 1,
          userBase + author + 1,
          postText(textRng, pools, mention),
          parent >= 0 ? postBase + parent + 1 : null,
          posts.createdAt[j]!,
        )
      },
      progress,
    )
    report.tables.push({ name: 'posts', rows: plan.posts, seconds: progress.end() })

    // Follows
    const followRows = plan.follows + plan.heavyFollows
    progress.start('follows', followRows)
    const follows = planFollows(rngFor(plan.randomSeed, 'follows'), users, plan.follows, plan.heavyFollows)
    await insertRows(sink, FOLLOWS, followRows, pushPair(follows, userBase, userBase), progress)
    report.tables.push({ name: 'follows', rows: followRows, seconds: progress.end() })

    // Likes
    progress.start('likes', plan.likes)
    const likes = planLikes(rngFor(plan.randomSeed, 'likes'), plan.users, posts, plan.likes)
    await insertRows(sink, LIKES, plan.likes, pushPair(likes, userBase, postBase), progress)
    report.tables.push({ name: 'likes', rows: plan.likes, seconds: progress.end() })

    if (indexes.length > 0) {
      progress.start('indexes', indexes.length, 'indexes')
      for (const index of indexes) {
        await sink.query(index.sql)
        report.rebuilt.push(index.name)
        progress.add(1)
        await breathe()
      }
      progress.end()
    }

    // After the index rebuild: the statement reads posts_author_id_idx and follows_pair_unique.
    if (oneTransaction) {
      progress.start('timeline', timelineRows(posts, follows, plan.users))
      const written = await sink.run(timelineSql(userBase))
      progress.add(written)
      report.tables.push({ name: 'timeline', rows: written, seconds: progress.end() })
      for (const trigger of triggers) await sink.query(trigger.sql)
    }
    await sink.commit()

    // Batches kept the triggers live: write the fan-outs they queued (those of anyone else too).
    if (!oneTransaction) {
      const fanout = new FanoutWorker(database.db, createLogger('warn'), SEED_FANOUT)
      const jobs = await fanout.backlog()
      if (jobs > 0) {
        progress.start('fan-out', jobs, 'jobs')
        for (let result = await fanout.runOnce(); result !== 'idle'; result = await fanout.runOnce()) {
          if (result === 'finished') {
            report.fanouts++
            progress.add(1)
          }
          await breathe()
        }
        progress.end()
      }
    }
  } catch (error) {
    await sink.abort()
    throw fail(
      oneTransaction
        ? `seeding failed, nothing was written: ${firstLine(error)}`
        : `seeding failed part way (counts stay exact; run reset-db to start over): ${firstLine(error)}`,
    )
  }
  // The long transaction grew the WAL to about the size of what it wrote: give the space back.
  if (oneTransaction) await database.client.execute('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined)

  report.totalSeconds = (performance.now() - started) / 1000
  report.otherSeconds = report.totalSeconds - report.tables.reduce((s, t) => s + t.seconds, 0)
  return report
}

function pushPair(pairs: Pairs, aBase: number, bBase: number) {
  return (i: number, args: InValue[]) => {
    const key = pairs.keys[i]!
    const index = key % INDEX_SPAN
    const second = (key - index) / INDEX_SPAN
    args.push(aBase + pairs.a[index]! + 1, bBase + pairs.b[index]! + 1, WINDOW_START + second * 1000)
  }
}

function summary(config: Config, plan: SeedPlan, report: SeedReport): string {
  const rate = (rows: number, seconds: number) => String(Math.round(rows / Math.max(seconds, 1e-6)))
  const total = report.tables.reduce((s, t) => s + t.rows, 0)
  const rows = report.tables.map((t) => ({
    table: t.name,
    rows: String(t.rows),
    seconds: t.seconds.toFixed(1),
    'rows/s': rate(t.rows, t.seconds),
  }))
  rows.push({
    table: report.rebuilt.length > 0 ? 'setup, indexes, commit' : 'setup, commit',
    rows: '',
    seconds: report.otherSeconds.toFixed(1),
    'rows/s': '',
  })
  rows.push({
    table: 'total',
    rows: String(total),
    seconds: report.totalSeconds.toFixed(1),
    'rows/s': rate(total, report.totalSeconds),
  })
  const how = report.oneTransaction
    ? `one transaction${report.rebuilt.length > 0 ? `, ${report.rebuilt.length} indexes rebuilt` : ''}`
    : `transactions of ${plan.batch ?? REMOTE_BATCH} rows`
  const lines = [`Seeded ${config.database.url} with --random-seed ${plan.randomSeed} (${how}):`, table(rows)]
  if (plan.posts > 0)
    lines.push(`${report.replies} of the posts are replies; the deepest thread is ${report.deepest + 1} posts long.`)
  if (report.heavy) lines.push(`The heavy user "${report.heavy}" follows ${plan.heavyFollows} accounts.`)
  if (!report.oneTransaction)
    lines.push(
      `Timeline entries were written by the fan-out triggers as posts and follows went in${
        report.fanouts > 0 ? `, and by ${report.fanouts} queued fan-outs afterwards` : ''
      }.`,
    )
  if (plan.users > 0) lines.push(`Seeded users sign in with password "${plan.password}".`)
  return lines.join('\n')
}

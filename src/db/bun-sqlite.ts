import { Database, type SQLiteError, type Statement } from 'bun:sqlite'
import {
  type Client,
  type InArgs,
  type InStatement,
  LibsqlError,
  type ResultSet,
  type Row,
  type Transaction,
  type TransactionMode,
} from '@libsql/client'

/** Prepared statements kept per connection, by SQL text (drizzle binds every value, so the set is small). */
const MAX_STATEMENTS = 512

/** `file:./data/pamps.db`, `file:///abs/path.db` → the path SQLite opens. */
export function filePath(url: string): string {
  const rest = decodeURIComponent(url.slice('file:'.length).replace(/\?.*$/, ''))
  return rest.startsWith('//') ? rest.replace(/^\/\/(localhost)?/, '') : rest
}

export interface BunSqliteOptions {
  /** `PRAGMA synchronous` for every connection: FULL fsyncs the WAL on every commit. */
  synchronous: string
  /** Called with the number of writes each group commit made durable together (tests observe the grouping). */
  onGroup?: (writes: number) => void
}

type Item = {
  stmts: Array<{ sql: string; args?: InArgs }>
  resolve: (results: ResultSet[]) => void
  reject: (error: unknown) => void
}

/**
 * The `file:` database through Bun's built-in SQLite, behind @libsql/client's `Client`
 * interface so Drizzle, the services and the CLI are the same for every mode; remote and
 * embedded-replica databases keep @libsql/client itself (`DATABASE_FILE_DRIVER=libsql`
 * puts a file database back on it too, and CI runs the whole suite both ways).
 *
 * Why a second driver: @libsql/client prepares every statement on every call and marshals
 * each value through its native binding; `bun:sqlite` keeps statements prepared, and a feed
 * page costs 39 µs through PostService instead of 243 µs (`bun bench/layers.ts`,
 * bench/README.md). Only one SQLite library ever opens the file in the server process: two
 * copies of SQLite in one process can drop each other's POSIX locks.
 *
 * Group commit: writes (a write batch, or one statement that is not read-only) are queued and
 * committed together at the end of the event-loop turn: one `BEGIN IMMEDIATE`, a savepoint per
 * write, one `COMMIT` — so with `synchronous=FULL` one fsync covers every write that arrived
 * meanwhile instead of one each. A write that fails rolls back to its own savepoint and fails
 * alone; each caller's promise settles only after the COMMIT that made its write durable.
 * Everything runs synchronously on one connection, so no other statement can interleave with
 * a group, and reads (run at once) never see a write that is not committed.
 */
export function openBunSqlite(path: string, options: BunSqliteOptions): Client {
  const db = connect(path, options)
  const statements = new StatementCache(db)
  let queue: Item[] = []
  let scheduled = false
  let closed = false

  const checkOpen = () => {
    if (closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED')
  }

  const flush = () => {
    scheduled = false
    const group = queue
    queue = []
    if (group.length === 0) return
    commitGroup(db, statements, group)
    options.onGroup?.(group.length)
  }

  const enqueue = (stmts: Item['stmts']): Promise<ResultSet[]> =>
    new Promise((resolve, reject) => {
      queue.push({ stmts, resolve, reject })
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })

  const client: Client = {
    closed: false,
    protocol: 'file',
    async execute(stmtOrSql: InStatement, args?: InArgs): Promise<ResultSet> {
      checkOpen()
      const stmt = normalize(stmtOrSql, args)
      if (!queued(statements, stmt.sql)) return guard(() => execute(statements, stmt))
      const [result] = await enqueue([stmt])
      return result as ResultSet
    },
    async batch(stmts, mode?: TransactionMode): Promise<ResultSet[]> {
      checkOpen()
      const normalized = stmts.map((s) => (Array.isArray(s) ? normalize(s[0], s[1]) : normalize(s)))
      if (mode === 'read' || (mode !== 'write' && normalized.every((s) => readonly(statements, s.sql))))
        return guard(() => inTransaction(db, 'BEGIN DEFERRED', () => normalized.map((s) => execute(statements, s))))
      return enqueue(normalized)
    },
    async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
      checkOpen()
      flush()
      return guard(() => {
        db.run('PRAGMA foreign_keys = OFF')
        try {
          return inTransaction(db, 'BEGIN DEFERRED', () => stmts.map((s) => execute(statements, normalize(s))))
        } finally {
          db.run('PRAGMA foreign_keys = ON')
        }
      })
    },
    async transaction(mode: TransactionMode = 'write'): Promise<Transaction> {
      checkOpen()
      // An interactive transaction spans awaits, so it gets a connection of its own (as with
      // @libsql/client), closed when it ends. Only the CLI uses one (the seed): a group commit
      // started while a write transaction is open here would wait for its lock, synchronously.
      // Request paths never do: their writes are batches.
      return guard(() => openTransaction(path, options, mode))
    },
    async executeMultiple(sql: string): Promise<void> {
      checkOpen()
      flush()
      await guard(() => db.run(sql))
    },
    async sync() {
      return undefined
    },
    close() {
      if (closed) return
      flush()
      closed = true
      client.closed = true
      statements.clear()
      db.close()
    },
    reconnect() {
      throw new LibsqlError('A bun:sqlite client cannot reconnect', 'NOT_SUPPORTED')
    },
  }
  return client
}

function connect(path: string, options: BunSqliteOptions): Database {
  const db = new Database(path, { create: true, readwrite: true, strict: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run(`PRAGMA synchronous = ${options.synchronous}`)
  db.run('PRAGMA foreign_keys = ON')
  db.run('PRAGMA busy_timeout = 5000')
  return db
}

/** The statement's cache entry; one that does not prepare has none (it fails when run, like any write). */
function tryPrepare(statements: StatementCache, sql: string): Prepared | undefined {
  try {
    return statements.get(sql)
  } catch {
    return undefined
  }
}

/** True for a statement that goes through group commit: one that writes and may run in a transaction. */
function queued(statements: StatementCache, sql: string): boolean {
  const entry = tryPrepare(statements, sql)
  return !entry || (!entry.readonly && !entry.immediate)
}

/** Whether a statement only reads. */
function readonly(statements: StatementCache, sql: string): boolean {
  return tryPrepare(statements, sql)?.readonly ?? false
}

/**
 * Runs a group of writes in one transaction, a savepoint each; see `openBunSqlite`. Whatever
 * goes wrong, every write of the group settles (it runs in a timer: an exception escaping it
 * would leave callers waiting and end the process).
 */
function commitGroup(db: Database, statements: StatementCache, group: Item[]): void {
  const settled = new Set<Item>()
  const fail = (items: Iterable<Item>, error: unknown) => {
    for (const item of items) {
      settled.add(item)
      item.reject(toLibsqlError(error))
    }
  }
  try {
    runGroup(db, statements, group, fail, settled)
  } catch (error) {
    try {
      if (db.inTransaction) db.run('ROLLBACK')
    } catch {
      // The connection is unusable; the next group reports it.
    }
    fail(
      group.filter((g) => !settled.has(g)),
      error,
    )
  }
}

function runGroup(
  db: Database,
  statements: StatementCache,
  group: Item[],
  fail: (items: Iterable<Item>, error: unknown) => void,
  settled: ReadonlySet<Item>,
): void {
  try {
    db.run('BEGIN IMMEDIATE')
  } catch (error) {
    fail(group, error)
    return
  }
  let done: Array<[Item, ResultSet[]]> = []
  for (const item of group) {
    db.run('SAVEPOINT pamps_write')
    try {
      const results = item.stmts.map((s) => execute(statements, s))
      db.run('RELEASE pamps_write')
      done.push([item, results])
    } catch (error) {
      if (db.inTransaction) {
        db.run('ROLLBACK TO pamps_write')
        db.run('RELEASE pamps_write')
        fail([item], error)
        continue
      }
      // SQLite rolled the whole transaction back (I/O error, disk full): the writes before
      // this one are gone too. None was acknowledged; they fail, the rest start over.
      fail([item, ...done.map(([d]) => d)], error)
      done = []
      try {
        db.run('BEGIN IMMEDIATE')
      } catch (again) {
        fail(
          group.filter((g) => !settled.has(g)),
          again,
        )
        return
      }
    }
  }
  try {
    db.run('COMMIT')
  } catch (error) {
    if (db.inTransaction) db.run('ROLLBACK')
    fail(
      done.map(([d]) => d),
      error,
    )
    return
  }
  for (const [item, results] of done) item.resolve(results)
}

/** Runs `fn` between `begin` and COMMIT, rolling back if it throws. */
function inTransaction<T>(db: Database, begin: string, fn: () => T): T {
  db.run(begin)
  try {
    const value = fn()
    db.run('COMMIT')
    return value
  } catch (error) {
    if (db.inTransaction) db.run('ROLLBACK')
    throw error
  }
}

function openTransaction(path: string, options: BunSqliteOptions, mode: TransactionMode): Transaction {
  const db = connect(path, options)
  const statements = new StatementCache(db)
  db.run(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED')
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    if (db.inTransaction) db.run('ROLLBACK')
    tx.closed = true
    statements.clear()
    db.close()
  }
  const active = () => {
    if (ended) throw new LibsqlError('The transaction is closed', 'TRANSACTION_CLOSED')
  }
  const tx: Transaction = {
    closed: false,
    async execute(stmt: InStatement) {
      active()
      return guard(() => execute(statements, normalize(stmt)))
    },
    async batch(stmts: InStatement[]) {
      active()
      return guard(() => stmts.map((s) => execute(statements, normalize(s))))
    },
    async executeMultiple(sql: string) {
      active()
      await guard(() => db.run(sql))
    },
    async commit() {
      active()
      try {
        await guard(() => db.run('COMMIT'))
      } finally {
        end()
      }
    },
    async rollback() {
      if (!ended) end()
    },
    close() {
      end()
    },
  }
  return tx
}

/** A prepared statement and what the driver needs to know about it, worked out once. */
interface Prepared {
  stmt: Statement
  columns: string[]
  /** Declared types are not tracked: empty, one per column, as @libsql/client gives for expressions. */
  columnTypes: string[]
  /** Only reads: runs at once, outside group commit. */
  readonly: boolean
  /** Must run outside a transaction (pragmas, transaction control): also runs at once. */
  immediate: boolean
}

const IMMEDIATE = /^\s*(pragma|begin|commit|end|rollback|savepoint|release|vacuum|attach|detach)\b/i

class StatementCache {
  readonly #cache = new Map<string, Prepared>()
  constructor(private readonly db: Database) {}

  get(sql: string): Prepared {
    let entry = this.#cache.get(sql)
    if (entry) return entry
    const stmt = this.db.prepare(sql)
    const columns = stmt.columnNames
    entry = {
      stmt,
      columns,
      columnTypes: columns.map(() => ''),
      readonly: stmt.readonly,
      immediate: IMMEDIATE.test(sql),
    }
    if (this.#cache.size >= MAX_STATEMENTS) this.clear()
    this.#cache.set(sql, entry)
    return entry
  }

  clear() {
    for (const entry of this.#cache.values()) entry.stmt.finalize()
    this.#cache.clear()
  }
}

function normalize(stmt: InStatement | string, args?: InArgs): { sql: string; args?: InArgs } {
  return typeof stmt === 'string' ? { sql: stmt, args } : stmt
}

type Bindable = string | number | bigint | boolean | null | Uint8Array

/** @libsql/client's argument rules: finite numbers, Dates as milliseconds, ArrayBuffers as blobs, no undefined. */
function toSql(value: unknown): Bindable {
  switch (typeof value) {
    case 'string':
      return value
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('Only finite numbers can be passed as arguments')
      return value
    case 'bigint':
    case 'boolean':
      return value
    case 'undefined':
      throw new TypeError('undefined cannot be passed as argument to the database')
  }
  if (value === null || value instanceof Uint8Array) return value
  if (value instanceof Date) return value.valueOf()
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  throw new TypeError(`unsupported argument type: ${Object.prototype.toString.call(value)}`)
}

/**
 * A statement whose caller reads its rows by position only (`row[0]`, never `row.id`): this
 * driver then leaves the rows as bun:sqlite returns them, without naming their columns, which
 * is about a fifth of what a 20-row page costs here. @libsql/client ignores the flag.
 */
export interface RowsByPosition {
  sql: string
  args: InArgs
  rowsByPosition: true
}

/** One statement → a ResultSet shaped like @libsql/client's (rows indexable by position and by name). */
function execute(statements: StatementCache, stmt: { sql: string; args?: InArgs }): ResultSet {
  const { stmt: prepared, columns, columnTypes, readonly } = statements.get(stmt.sql)
  const args = stmt.args
  let params: Bindable[]
  if (Array.isArray(args)) {
    params = new Array(args.length)
    for (let i = 0; i < args.length; i++) params[i] = toSql(args[i])
  } else if (args) {
    const named: Record<string, Bindable> = {}
    for (const [k, v] of Object.entries(args)) named[k.replace(/^[:@$]/, '')] = toSql(v)
    params = [named as never]
  } else params = []
  if (columns.length === 0) {
    const { changes, lastInsertRowid } = prepared.run(...params)
    return new BunResultSet(columns, columnTypes, [], changes, BigInt(lastInsertRowid))
  }
  const rows = prepared.values(...params) as unknown as Row[]
  if ((stmt as Partial<RowsByPosition>).rowsByPosition)
    return new BunResultSet(columns, columnTypes, rows, readonly ? 0 : rows.length, undefined)
  for (const row of rows) {
    const named = row as unknown as Record<string, unknown>
    for (let i = 0; i < columns.length; i++) {
      const name = columns[i] as string
      if (!(name in named)) named[name] = row[i]
    }
  }
  return new BunResultSet(columns, columnTypes, rows, readonly ? 0 : rows.length, undefined)
}

/** @libsql/client's ResultSet; a class, so a result costs one object (it is made for every statement). */
class BunResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  toJSON() {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((r) => Array.from(r as unknown as ArrayLike<unknown>)),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid === undefined ? null : String(this.lastInsertRowid),
    }
  }
}

/** Runs `fn`, reporting a SQLite error the way @libsql/client does (code, extendedCode, rawCode). */
function guard<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(toLibsqlError(error))
  }
}

function toLibsqlError(error: unknown): unknown {
  if (error instanceof LibsqlError || !(error instanceof Error) || error.name !== 'SQLiteError') return error
  const e = error as SQLiteError
  const base = (e.code ?? 'SQLITE_UNKNOWN').replace(/^(SQLITE_[A-Z]+?)_.*$/, '$1')
  return new LibsqlError(e.message, base, e.code, e.errno, e)
}

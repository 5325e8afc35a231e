import { type Client, createClient, type InStatement, type Transaction, type TransactionMode } from '@libsql/client'
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql'
import type { Config } from '../config'
import type { Logger } from '../logger'
import { filePath, openBunSqlite } from './bun-sqlite'
import * as schema from './schema'

export type Db = LibSQLDatabase<typeof schema> & { $client: Client }
export type DatabaseMode = 'file' | 'remote' | 'replica'
/** Where a statement ran: the local file, the remote primary, or the local replica. */
export type QueryTarget = 'file' | 'primary' | 'replica'
export type QueryKind = 'execute' | 'batch' | 'transaction' | 'migrate' | 'sync'

export interface QueryObservation {
  kind: QueryKind
  target: QueryTarget
  seconds: number
  ok: boolean
}

export interface Database {
  /** Stable for the life of the process; calls fail with DatabaseUnavailableError until connected. */
  client: Client
  db: Db
  mode: DatabaseMode
  /** True once the database answered (a replica: created and synced once). */
  connected(): boolean
  /** Pulls the primary's latest frames into an embedded replica; a no-op otherwise. */
  sync(): Promise<void>
  /** Calls `listener` after every statement, batch, transaction or sync (metrics use it). */
  observe(listener: (o: QueryObservation) => void): () => void
  close(): void
}

export interface OpenOptions {
  logger?: Logger
  /** Called before every statement or batch reaches libSQL (tests count queries with it). */
  onQuery?: (kind: 'execute' | 'batch', sql: string) => void
  /** Upper bound on one request to a remote primary, in ms (default 5000). */
  timeoutMs?: number
  /** Attempts to reach the database before giving up (default 1: fail fast; the server passes Infinity). */
  attempts?: number
  /** Longest pause between two attempts, in ms (default 10 000). */
  maxBackoffMs?: number
}

type DatabaseConfig = Config['database']

export function databaseMode(config: DatabaseConfig): DatabaseMode {
  if (config.syncUrl) return 'replica'
  return config.url.startsWith('file:') ? 'file' : 'remote'
}

/**
 * The database cannot be reached: not connected yet, the primary refused or timed out.
 * The HTTP layer answers 503 problem+json for it.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError'
  readonly code = 'DATABASE_UNAVAILABLE'
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Opens the database named by the configuration and resolves once it answers: an embedded
 * SQLite file, a remote libSQL server (Turso, sqld), or an embedded replica of one.
 * Only the configuration changes. Gives up after `attempts` tries (default one).
 */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  const { database, connected } = startDatabase(config, options)
  try {
    await connected
  } catch (error) {
    database.close()
    throw error
  }
  return database
}

/**
 * Returns the database at once and connects in the background (the server listens meanwhile,
 * answering 503 on `/ready` and on any route that needs the database until it is connected).
 */
export function startDatabase(
  config: DatabaseConfig,
  options: OpenOptions = {},
): { database: Database; connected: Promise<void> } {
  const mode = databaseMode(config)
  const log = options.logger
  const timeoutMs = options.timeoutMs ?? 5000
  const observers = new Set<(o: QueryObservation) => void>()
  const notify = (o: QueryObservation) => {
    for (const listener of observers) listener(o)
  }
  let inner: Client | undefined
  let closed = false

  const client = deferredClient(
    () => inner,
    () => closed,
  )
  const db = drizzle(client, { schema })

  const connect = async () => {
    const attempts = options.attempts ?? 1
    for (let attempt = 1; ; attempt++) {
      if (closed) throw new DatabaseUnavailableError('The database was closed before it connected')
      try {
        const routed = await establish()
        const ready = instrument(routed, options.onQuery, notify)
        if (closed) {
          ready.close()
          throw new DatabaseUnavailableError('The database was closed before it connected')
        }
        inner = ready
        log?.info({ mode, attempt }, 'database connected')
        return
      } catch (error) {
        if (attempt >= attempts) throw error
        const delay = Math.min(250 * 2 ** attempt, options.maxBackoffMs ?? 10_000)
        log?.warn({ attempt, retry_in_ms: delay, err: error }, 'database unreachable; retrying')
        await sleep(delay)
      }
    }
  }

  const establish = async (): Promise<RoutedClient> => {
    if (mode === 'file') {
      if (config.fileDriver === 'bun')
        return { primary: openBunSqlite(filePath(config.url), { synchronous: config.synchronous }), target: 'file' }
      // One connection: libSQL runs each statement and batch synchronously on it, so
      // in-process writes never contend, and the per-connection pragmas below always apply.
      const file = createClient({ url: config.url, concurrency: 1 })
      await file.execute('PRAGMA journal_mode = WAL')
      await file.execute(`PRAGMA synchronous = ${config.synchronous}`)
      await file.execute('PRAGMA foreign_keys = ON')
      await file.execute('PRAGMA busy_timeout = 5000')
      return { primary: file, target: 'file' }
    }
    if (mode === 'remote') {
      const remote = remoteClient(config.url, config.authToken, timeoutMs)
      try {
        await remote.execute('SELECT 1')
      } catch (error) {
        remote.close()
        throw error
      }
      return { primary: remote, target: 'primary' }
    }
    // Embedded replica. Reads run on the local file. Writes go to the primary over HTTP
    // rather than through libSQL's write delegation: the native client runs a delegated
    // write synchronously on the JavaScript thread, so a primary that stops answering
    // (without refusing) would freeze the whole process for minutes; an HTTP write is
    // bounded by `timeoutMs`. After each write the replica syncs, so this instance reads
    // its own writes at once. createClient throws when the primary is unreachable, even
    // with a replica file on disk: the caller retries. Never WAL pragmas on a replica.
    const local = createClient({
      url: config.url,
      syncUrl: config.syncUrl,
      authToken: config.authToken,
      syncInterval: config.syncIntervalSeconds,
    })
    try {
      await local.sync()
    } catch (error) {
      local.close()
      throw error
    }
    const primary = remoteClient(config.syncUrl as string, config.authToken, timeoutMs)
    return { primary, replica: local, target: 'primary' }
  }

  const connected = connect()
  // The caller awaits `connected`; this keeps an unawaited rejection from crashing the process.
  connected.catch(() => {})

  const database: Database = {
    client,
    db,
    mode,
    connected: () => inner !== undefined && !closed,
    async sync() {
      if (mode !== 'replica' || !inner) return
      await inner.sync()
    },
    observe(listener) {
      observers.add(listener)
      return () => observers.delete(listener)
    },
    close() {
      if (closed) return
      closed = true
      inner?.close()
    },
  }
  return { database, connected }
}

/** A remote client whose every HTTP request is bounded, so a silent primary means 503, not a hang. */
function remoteClient(url: string, authToken: string | undefined, timeoutMs: number): Client {
  return createClient({
    url,
    authToken,
    fetch: (request: Request) => fetch(request, { signal: AbortSignal.timeout(timeoutMs) }),
  })
}

interface RoutedClient {
  primary: Client
  /** Set for an embedded replica: reads go here, and it syncs after every write. */
  replica?: Client
  target: QueryTarget
}

const sqlOf = (stmt: unknown): string =>
  typeof stmt === 'string'
    ? stmt
    : Array.isArray(stmt)
      ? String(stmt[0] ?? '')
      : ((stmt as { sql?: string } | undefined)?.sql ?? '')

/** True for a statement that only reads (it can run on a replica). */
export function isReadOnly(sql: string): boolean {
  const s = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '').toLowerCase()
  if (s.startsWith('select') || s.startsWith('explain') || s.startsWith('values')) return true
  if (s.startsWith('with')) return !/\b(insert|update|delete|replace)\b/.test(s)
  if (s.startsWith('pragma')) return !s.includes('=') && !s.includes('(')
  return false
}

function timed<T>(
  notify: (o: QueryObservation) => void,
  kind: QueryKind,
  target: QueryTarget,
  run: () => Promise<T>,
): Promise<T> {
  const start = performance.now()
  const done = (ok: boolean) => notify({ kind, target, ok, seconds: (performance.now() - start) / 1000 })
  let promise: Promise<T>
  try {
    promise = run()
  } catch (error) {
    done(false)
    return Promise.reject(error)
  }
  return promise.then(
    (value) => {
      done(true)
      return value
    },
    (error) => {
      done(false)
      throw error
    },
  )
}

/**
 * One Client over the routed pair: statements that only read go to the replica when there
 * is one; everything else to the primary, followed by a sync of the replica. Every call is
 * timed for the observers.
 */
function instrument(
  routed: RoutedClient,
  onQuery: OpenOptions['onQuery'],
  notify: (o: QueryObservation) => void,
): Client {
  const { primary, replica, target } = routed
  // No coalescing: a pull that started before a write finished could miss it. (libSQL's
  // sync runs synchronously anyway, so there is never more than one at a time.)
  const syncReplica = (): Promise<void> =>
    replica ? timed(notify, 'sync', 'replica', () => replica.sync()).then(() => undefined) : Promise.resolve()
  // The write already happened on the primary: a failed pull only delays this replica.
  const afterWrite = async <T>(value: T): Promise<T> => {
    await syncReplica().catch(() => {})
    return value
  }

  const execute = (stmtOrSql: InStatement | string, args?: unknown) => {
    const sql = sqlOf(stmtOrSql)
    onQuery?.('execute', sql)
    const call = (c: Client) =>
      args === undefined ? c.execute(stmtOrSql as InStatement) : c.execute(sql, args as never)
    if (replica && isReadOnly(sql)) return timed(notify, 'execute', 'replica', () => call(replica))
    return timed(notify, 'execute', target, () => call(primary)).then(replica ? afterWrite : (r) => r)
  }

  const batch = (stmts: Parameters<Client['batch']>[0], requested?: TransactionMode) => {
    onQuery?.('batch', stmts.map(sqlOf).join(';\n'))
    const readOnly = requested === 'read' || stmts.every((s) => isReadOnly(sqlOf(s)))
    // A batch that writes begins IMMEDIATE (Drizzle's db.batch asks for no mode, which is
    // DEFERRED): a deferred read-then-write transaction gets SQLITE_BUSY from another writer
    // even with a busy timeout, an immediate one waits for the lock instead.
    const mode = requested ?? (readOnly ? 'deferred' : 'write')
    if (replica && readOnly) return timed(notify, 'batch', 'replica', () => replica.batch(stmts, mode))
    return timed(notify, 'batch', target, () => primary.batch(stmts, mode)).then(replica ? afterWrite : (r) => r)
  }

  const transaction = async (mode?: TransactionMode): Promise<Transaction> => {
    if (replica && mode === 'read') return timed(notify, 'transaction', 'replica', () => replica.transaction(mode))
    const tx = await timed(notify, 'transaction', target, () => primary.transaction(mode))
    if (!replica) return tx
    const commit = tx.commit.bind(tx)
    tx.commit = () => commit().then(afterWrite)
    return tx
  }

  return new Proxy(primary, {
    get(_target, prop) {
      switch (prop) {
        case 'execute':
          return execute
        case 'batch':
          return batch
        case 'transaction':
          return transaction
        case 'migrate':
          return (stmts: InStatement[]) =>
            timed(notify, 'migrate', target, () => primary.migrate(stmts)).then(replica ? afterWrite : (r) => r)
        case 'executeMultiple':
          return (sql: string) => primary.executeMultiple(sql).then(replica ? afterWrite : (r) => r)
        case 'sync':
          return () => (replica ? syncReplica().then(() => undefined) : Promise.resolve(undefined))
        case 'close':
          return () => {
            primary.close()
            replica?.close()
          }
        default: {
          const value = Reflect.get(primary, prop, primary)
          return typeof value === 'function' ? value.bind(primary) : value
        }
      }
    },
  })
}

/** A Client that forwards to the real one once connected and rejects as unavailable before. */
function deferredClient(current: () => Client | undefined, isClosed: () => boolean): Client {
  const unavailable = () =>
    new DatabaseUnavailableError(isClosed() ? 'The database client is closed' : 'The database is not connected yet')
  return new Proxy({} as Client, {
    get(_target, prop) {
      const real = current()
      if (real && !isClosed()) {
        const value = Reflect.get(real, prop, real)
        return typeof value === 'function' ? value.bind(real) : value
      }
      if (prop === 'closed') return isClosed()
      if (prop === 'protocol') return 'file'
      if (prop === 'close') return () => {}
      if (prop === 'then') return undefined
      return () => Promise.reject(unavailable())
    },
  })
}

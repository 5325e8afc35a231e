import { type Client, createClient } from '@libsql/client'
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql'
import type { Config } from '../config'
import type { Logger } from '../logger'
import * as schema from './schema'

export type Db = LibSQLDatabase<typeof schema>
export type DatabaseMode = 'file' | 'remote' | 'replica'

export interface Database {
  client: Client
  db: Db
  mode: DatabaseMode
  /** Pulls the primary's latest frames into an embedded replica; a no-op otherwise. */
  sync(): Promise<void>
  close(): void
}

export interface OpenOptions {
  logger?: Logger
  /** Called before every statement or batch reaches libSQL (tests count queries with it). */
  onQuery?: (kind: 'execute' | 'batch', sql: string) => void
}

type DatabaseConfig = Config['database']

export function databaseMode(config: DatabaseConfig): DatabaseMode {
  if (config.syncUrl) return 'replica'
  return config.url.startsWith('file:') ? 'file' : 'remote'
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Opens the database named by the configuration: an embedded SQLite file, a remote
 * libSQL server (Turso, sqld), or an embedded replica of one. Only the URL changes.
 */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  const mode = databaseMode(config)
  const log = options.logger
  let client: Client
  if (mode === 'file') {
    // One connection: libSQL runs each statement and batch synchronously on it, so
    // in-process writes never contend, and the per-connection pragmas below always apply.
    client = createClient({ url: config.url, concurrency: 1 })
    await client.execute('PRAGMA journal_mode = WAL')
    await client.execute(`PRAGMA synchronous = ${config.synchronous}`)
    await client.execute('PRAGMA foreign_keys = ON')
    await client.execute('PRAGMA busy_timeout = 5000')
  } else if (mode === 'remote') {
    client = createClient({ url: config.url, authToken: config.authToken })
  } else {
    // createClient throws when the primary is unreachable, even with a replica file
    // on disk: retry with backoff so a machine can boot while the primary is away.
    client = await retry(
      () =>
        createClient({
          url: config.url,
          syncUrl: config.syncUrl,
          authToken: config.authToken,
          syncInterval: config.syncIntervalSeconds,
          readYourWrites: true,
        }),
      (attempt, error) => log?.warn({ attempt, err: error }, 'database primary unreachable; retrying'),
    )
    await client.sync()
  }
  if (options.onQuery) client = countingClient(client, options.onQuery)
  const db = drizzle(client, { schema })
  return {
    client,
    db,
    mode,
    async sync() {
      if (mode === 'replica') await client.sync()
    },
    close: () => client.close(),
  }
}

async function retry<T>(fn: () => T, onFail: (attempt: number, error: unknown) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return fn()
    } catch (error) {
      if (attempt >= 8) throw error
      onFail(attempt, error)
      await sleep(Math.min(250 * 2 ** attempt, 10_000))
    }
  }
}

function countingClient(client: Client, onQuery: NonNullable<OpenOptions['onQuery']>): Client {
  const sqlOf = (stmt: unknown) => (typeof stmt === 'string' ? stmt : ((stmt as { sql?: string }).sql ?? ''))
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'execute')
        return (stmt: Parameters<Client['execute']>[0], args?: never) => {
          onQuery('execute', sqlOf(stmt))
          return target.execute(stmt as never, args)
        }
      if (prop === 'batch')
        return (stmts: Parameters<Client['batch']>[0], mode?: Parameters<Client['batch']>[1]) => {
          onQuery('batch', stmts.map(sqlOf).join(';\n'))
          return target.batch(stmts, mode)
        }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

import type { Client, InStatement, ResultSet, Row } from '@libsql/client'
import Database from 'libsql'
import { isReadOnly } from './client'

const MAX_STATEMENTS = 512

type Statement = Database.Statement<unknown[]>

/** `file:./data/pamps.db`, `file:///abs/path.db` → the path libSQL's native binding opens. */
export function filePath(url: string): string {
  const rest = decodeURIComponent(url.slice('file:'.length).replace(/\?.*$/, ''))
  return rest.startsWith('//') ? rest.replace(/^\/\/(localhost)?/, '') : rest
}

/**
 * File mode only: read statements run as prepared statements cached by SQL text, on a second
 * connection (read-only, `query_only`) of the same libSQL engine; everything else — writes,
 * batches, transactions, migrations — goes to `client` exactly as before.
 *
 * Why: @libsql/client prepares (parses and plans) every statement on every call and builds
 * each row value by value; for the API's hot reads that is most of the request (a feed page
 * 2x, the timeline 1.7x slower). In WAL mode a reader sees every committed write at once, so
 * reads stay consistent with the writes the same process just made. `DATABASE_READ_CACHE=off`
 * turns it off; CI runs the whole suite both ways.
 */
export function withReadCache(client: Client, path: string): Client {
  const reader = new Database(path)
  reader.exec('PRAGMA query_only = ON')
  reader.exec('PRAGMA busy_timeout = 5000')
  const cache = new Map<string, Statement | null>()

  const prepared = (sql: string): Statement | null => {
    let stmt = cache.get(sql)
    if (stmt !== undefined) return stmt
    stmt = null
    if (isReadOnly(sql) && !/^\s*pragma/i.test(sql)) {
      try {
        const candidate = reader.prepare(sql)
        if (candidate.reader) stmt = candidate.raw(true)
      } catch {
        // Leave it to the client, which reports errors the way every other path does.
      }
    }
    if (cache.size >= MAX_STATEMENTS) cache.clear()
    cache.set(sql, stmt)
    return stmt
  }

  const execute = async (stmtOrSql: InStatement | string, args?: unknown): Promise<ResultSet> => {
    const statement: { sql: string; args?: unknown } =
      typeof stmtOrSql === 'string' ? { sql: stmtOrSql, args } : (stmtOrSql as { sql: string; args?: unknown })
    const stmt = prepared(statement.sql)
    if (!stmt) return client.execute(stmtOrSql as InStatement)
    const params = statement.args ?? []
    const raw = (Array.isArray(params) ? stmt.all(params) : stmt.all(params as object)) as unknown as unknown[][]
    const columns = (stmt.columns() as Array<{ name: string; type: string | null }>).map((c) => c.name)
    const rows = raw.map((values) => {
      const row = values as unknown as Record<string, unknown>
      for (let i = 0; i < columns.length; i++) {
        const name = columns[i] as string
        if (!(name in row)) row[name] = values[i]
      }
      return row as unknown as Row
    })
    return {
      columns,
      columnTypes: columns.map(() => ''),
      rows,
      rowsAffected: 0,
      lastInsertRowid: undefined,
      toJSON: () => ({ columns, rows: raw, rowsAffected: 0, lastInsertRowid: null }),
    }
  }

  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'execute') return execute
      if (prop === 'close')
        return () => {
          cache.clear()
          reader.close()
          target.close()
        }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

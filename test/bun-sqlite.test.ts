import { Database as Sqlite } from 'bun:sqlite'
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Client, LibsqlError } from '@libsql/client'
import { openBunSqlite, type RowsByPosition } from '../src/db/bun-sqlite'

// The file-mode driver on its own: group commit, savepoint isolation, read-your-commits, and
// @libsql/client's contract (errors, result sets, transactions). The API suite runs on it too.

const dir = mkdtempSync(join(tmpdir(), 'pamps-bun-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
let client: Client
let path: string
let groups: number[]

beforeEach(async () => {
  path = join(dir, `db-${++n}.db`)
  groups = []
  client = openBunSqlite(path, { synchronous: 'FULL', onGroup: (size) => groups.push(size) })
  await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)')
  groups = []
})

const count = async (c: Client = client) => Number((await c.execute('SELECT count(*) AS n FROM t')).rows[0]?.n)

describe('group commit', () => {
  test('concurrent writes share commits, every one is applied once, and each settles after its commit', async () => {
    const outside = new Sqlite(path, { readonly: true })
    const seen: number[] = []
    const writes = Array.from({ length: 200 }, (_, i) =>
      client.execute({ sql: 'INSERT INTO t (v) VALUES (?) RETURNING id', args: [`v${i}`] }).then((r) => {
        // Committed by the time it resolves: another connection already sees the row.
        const id = Number(r.rows[0]?.id)
        seen.push(Number((outside.query('SELECT count(*) AS n FROM t WHERE id = ?').get(id) as { n: number }).n))
        return id
      }),
    )
    const ids = await Promise.all(writes)
    outside.close()
    expect(new Set(ids).size).toBe(200)
    expect(seen.every((s) => s === 1)).toBe(true)
    expect(await count()).toBe(200)
    expect(groups.reduce((a, b) => a + b, 0)).toBe(200)
    expect(groups.length).toBeLessThan(200)
  })

  test('a write that fails fails alone: the others in its group commit', async () => {
    await client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['taken'] })
    groups = []
    const results = await Promise.allSettled([
      client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['a'] }),
      client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['taken'] }),
      client.batch(["INSERT INTO t (v) VALUES ('b')", "INSERT INTO t (v) VALUES ('c')"], 'write'),
    ])
    expect(groups).toEqual([3])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const error = (results[1] as PromiseRejectedResult).reason
    expect(error).toBeInstanceOf(LibsqlError)
    expect(error.code).toBe('SQLITE_CONSTRAINT')
    expect(error.extendedCode).toBe('SQLITE_CONSTRAINT_UNIQUE')
    const values = (await client.execute('SELECT v FROM t ORDER BY v')).rows.map((r) => r.v)
    expect(values).toEqual(['a', 'b', 'c', 'taken'])
  })

  test('a batch is atomic inside its group: one failing statement undoes the whole batch, not its neighbours', async () => {
    const [bad, good] = await Promise.allSettled([
      client.batch(["INSERT INTO t (v) VALUES ('x')", "INSERT INTO t (v) VALUES ('x')"], 'write'),
      client.batch(["INSERT INTO t (v) VALUES ('y')", "INSERT INTO t (v) VALUES ('z')"], 'write'),
    ])
    expect(bad?.status).toBe('rejected')
    expect(good?.status).toBe('fulfilled')
    const values = (await client.execute('SELECT v FROM t ORDER BY v')).rows.map((r) => r.v)
    expect(values).toEqual(['y', 'z'])
  })

  test('reads run at once and never see a write that is not committed yet', async () => {
    const pending = client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['later'] })
    expect(await count()).toBe(0)
    await pending
    expect(await count()).toBe(1)
  })

  test('close commits the writes still waiting for their group', async () => {
    const pending = client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['last'] })
    client.close()
    await pending
    const reopened = openBunSqlite(path, { synchronous: 'FULL' })
    expect(await count(reopened)).toBe(1)
    reopened.close()
    client = openBunSqlite(path, { synchronous: 'FULL' })
  })
})

describe("@libsql/client's contract", () => {
  test('result sets: rows by position and by name, rowsAffected and lastInsertRowid', async () => {
    const inserted = await client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: ['one'] })
    expect(inserted.rowsAffected).toBe(1)
    expect(inserted.lastInsertRowid).toBe(1n)
    const read = await client.execute({ sql: 'SELECT id, v FROM t WHERE v = :v', args: { v: 'one' } })
    expect(read.columns).toEqual(['id', 'v'])
    const row = read.rows[0]
    expect([row?.[0], row?.[1], row?.id, row?.v]).toEqual([1, 'one', 1, 'one'])
    expect(read.toJSON().rows).toEqual([[1, 'one']])
  })

  test('a statement marked rowsByPosition gets the same rows, by position only', async () => {
    await client.execute({ sql: 'INSERT INTO t (v) VALUES (?), (?)', args: ['a', 'b'] })
    const statement: RowsByPosition = { sql: 'SELECT id, v FROM t ORDER BY id', args: [], rowsByPosition: true }
    const plain = await client.execute(statement)
    expect(plain.columns).toEqual(['id', 'v'])
    expect(plain.rows.map((r) => Array.from(r as ArrayLike<unknown>))).toEqual([
      [1, 'a'],
      [2, 'b'],
    ])
    expect(plain.rows[0]?.v).toBeUndefined()
    // Other statements still name their columns, including the same SQL without the flag.
    const named = await client.execute({ sql: statement.sql, args: [] })
    expect(named.rows[1]?.v).toBe('b')
  })

  test('arguments follow its rules: booleans as integers, Dates as milliseconds, no undefined', async () => {
    const r = await client.execute({ sql: 'SELECT ? AS a, ? AS b', args: [true, new Date(5)] })
    expect([r.rows[0]?.a, r.rows[0]?.b]).toEqual([1, 5])
    await expect(client.execute({ sql: 'SELECT ?', args: [undefined as never] })).rejects.toThrow(TypeError)
  })

  test('a read-only batch runs in one transaction and returns every result', async () => {
    await client.execute("INSERT INTO t (v) VALUES ('q')")
    const [a, b] = await client.batch(['SELECT count(*) AS n FROM t', 'SELECT v FROM t'], 'read')
    expect(a?.rows[0]?.n).toBe(1)
    expect(b?.rows[0]?.v).toBe('q')
  })

  test('an interactive transaction has its own connection: invisible until commit, gone on rollback', async () => {
    const tx = await client.transaction('write')
    await tx.execute("INSERT INTO t (v) VALUES ('in-tx')")
    expect(await count()).toBe(0)
    await tx.commit()
    expect(tx.closed).toBe(true)
    expect(await count()).toBe(1)
    const undone = await client.transaction('write')
    await undone.execute("INSERT INTO t (v) VALUES ('undone')")
    await undone.rollback()
    expect(await count()).toBe(1)
  })

  test('foreign keys are enforced and SQL errors carry SQLite codes', async () => {
    await client.execute('CREATE TABLE child (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id))')
    const error = await client.execute('INSERT INTO child (t_id) VALUES (42)').catch((e) => e)
    expect(error).toBeInstanceOf(LibsqlError)
    expect(error.extendedCode).toBe('SQLITE_CONSTRAINT_FOREIGNKEY')
    const syntax = await client.execute('SELEC 1').catch((e) => e)
    expect(syntax).toBeInstanceOf(LibsqlError)
    expect(syntax.code).toBe('SQLITE_ERROR')
  })

  test('a closed client refuses work', async () => {
    client.close()
    expect(client.closed).toBe(true)
    await expect(client.execute('SELECT 1')).rejects.toThrow('closed')
    client = openBunSqlite(path, { synchronous: 'FULL' })
  })
})

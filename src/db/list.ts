import { and, is, Placeholder, type SQL, sql } from 'drizzle-orm'
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core'
import { DEFAULT_PAGE, Keyset, type Page, type PageRequest } from '../http/pagination'
import type { RowsByPosition } from './bun-sqlite'
import type { Db } from './client'

/**
 * A list declared once: its columns (in order), where its rows come from, its filters, and the
 * sort key its keyset pagination walks. From that one declaration come the SELECT, the row's
 * type (a tuple, by position), each column's position (`at.text`) and the cursor.
 *
 * Rows stay positional on purpose: naming a dozen columns on every row of every page costs about
 * as much as the page's query (bench/layers.ts), and the serializer reads `row[at.name]` instead.
 */

/** The shape of one statement: every boolean that changes the SQL text, and nothing else. */
export type Shape = Record<string, boolean>

/** What every list's shape holds besides its own flags. */
export interface BaseShape {
  /** An authenticated caller: the per-viewer columns and filters apply. */
  viewer: boolean
}

export interface Column<N extends string = string, T = unknown, S = never> {
  readonly name: N
  readonly expr: SQL<T> | ((shape: S) => SQL<T>)
}

/** One column of a list: a name and its expression (which may depend on the statement's shape). */
export function column<N extends string, T, S = never>(
  name: N,
  expr: SQL<T> | ((shape: S) => SQL<T>),
): Column<N, T, S> {
  return { name, expr }
}

type ValueOf<C> = C extends Column<string, infer T, never> ? T : C extends Column<string, infer T, infer _> ? T : never

/** A row of a list: its columns' values in order, then the sort key. */
export type RowOf<C extends readonly Column<string, unknown, never>[]> = readonly [
  ...{ readonly [I in keyof C]: ValueOf<C[I]> },
  number,
]

type IndexOf<C extends readonly unknown[], N> = {
  [I in keyof C]: C[I] extends Column<N & string, unknown, never>
    ? I extends `${infer P extends number}`
      ? P
      : never
    : never
}[number]

/** Each column's position in a row, by name. */
export type Positions<C extends readonly Column<string, unknown, never>[]> = {
  readonly [N in C[number]['name']]: IndexOf<C, N>
}

export function positions<C extends readonly Column<string, unknown, never>[]>(columns: C): Positions<C> {
  return Object.fromEntries(columns.map((c, i) => [c.name, i])) as Positions<C>
}

export interface ListSpec<C extends readonly Column<string, unknown, never>[], S extends BaseShape> {
  /** The cursor's namespace: a cursor of one list is refused by every other. */
  name: string
  columns: C
  /**
   * The tables the rows come from, the driving one first (in the order of an index that matches
   * the sort, so nothing is sorted and the walk stops at the page), then what each row joins.
   */
  from: SQL
  /** Filters; `undefined` parts are left out. The keyset predicate is added from `key` and `order`. */
  where: (shape: S) => Array<SQL | undefined>
  /** The sort key: an integer, unique in the list. */
  key: SQL
  order: 'asc' | 'desc'
}

type Values = Record<string, unknown>

/** Drizzle's SQL → SQL text with named placeholders, compiled once per shape. */
const dialect = new SQLiteAsyncDialect()

interface Compiled {
  sql: string
  params: unknown[]
}

/**
 * A declared list, compiled lazily into one statement per shape. The statement cache is keyed by
 * the shape itself (every flag the SQL depends on, and only those: the builders see nothing
 * else), so a flag that changes the SQL cannot reuse another shape's statement. The driver keeps
 * each distinct SQL text prepared.
 */
export class List<C extends readonly Column<string, unknown, never>[], S extends BaseShape> {
  readonly at: Positions<C>
  /** The sort key's position in a row. */
  readonly keyAt: number
  readonly keyset: Keyset<readonly ['int']>
  readonly #compiled = new Map<string, Compiled>()

  constructor(readonly spec: ListSpec<C, S>) {
    this.at = positions(spec.columns)
    this.keyAt = spec.columns.length
    this.keyset = new Keyset(spec.name, ['int'] as const)
  }

  /**
   * One page, newest (or oldest) first from the cursor on. `values` fill the placeholders the
   * declaration names; given as a function, it runs once the cursor is known to be good (so a
   * lookup it makes, e.g. 404 for an unknown user, comes after a bad cursor's 422). `viewer` is the
   * caller's id (`:viewer`), when authenticated.
   */
  async page(
    db: Db,
    shape: Omit<S, keyof BaseShape>,
    values: Values | (() => Promise<Values>),
    request: PageRequest,
    viewer?: number,
  ): Promise<Page<RowOf<C>>> {
    const [cursor] = this.keyset.decode(request.cursor) ?? []
    const limit = request.limit ?? DEFAULT_PAGE
    const bound = typeof values === 'function' ? await values() : values
    const full = { ...shape, viewer: viewer !== undefined } as S
    const statement = this.#statement(full, { cursor: cursor !== undefined, limit: limit === DEFAULT_PAGE })
    const rows = await run<RowOf<C>>(db, statement, { ...bound, viewer, cursor, limit: limit + 1 })
    return this.keyset.page(rows, limit, (r) => [Number(r[this.keyAt])])
  }

  /** Every row up to `limit` (no cursor): for reads that are not paged, such as a single post. */
  rows(db: Db, shape: Omit<S, keyof BaseShape>, values: Values, limit: number, viewer?: number) {
    const full = { ...shape, viewer: viewer !== undefined } as S
    const statement = this.#statement(full, { cursor: false, limit: false })
    return run<RowOf<C>>(db, statement, { ...values, viewer, cursor: undefined, limit })
  }

  #statement(shape: S, page: { cursor: boolean; limit: boolean }): Compiled {
    const key = JSON.stringify([shape, page])
    let compiled = this.#compiled.get(key)
    if (!compiled) {
      compiled = this.#compile(shape, page)
      this.#compiled.set(key, compiled)
    }
    return compiled
  }

  /**
   * The usual page size is written into the SQL: SQLite (3.54, as bundled with Bun) runs the same
   * statement measurably slower with a bound LIMIT (28 µs instead of 17 µs for a feed page); other
   * sizes are bound, so at most two statements exist per shape.
   */
  #compile(shape: S, page: { cursor: boolean; limit: boolean }): Compiled {
    const { columns, from, where, key, order } = this.spec
    const select = sql.join(
      columns.map((c) => (typeof c.expr === 'function' ? (c.expr as (s: S) => SQL)(shape) : c.expr)),
      sql`, `,
    )
    const after = page.cursor
      ? sql`${key} ${sql.raw(order === 'desc' ? '<' : '>')} ${sql.placeholder('cursor')}`
      : undefined
    const query = dialect.sqlToQuery(sql`
      select ${select}, ${key}
      from ${from}
      where ${and(...where(shape), after) ?? sql`1`}
      order by ${key} ${sql.raw(order)}
      limit ${page.limit ? sql.raw(String(DEFAULT_PAGE + 1)) : sql.placeholder('limit')}`)
    return { sql: query.sql, params: query.params }
  }
}

/** Runs a compiled statement with its placeholders filled, rows by position. */
async function run<R>(db: Db, compiled: Compiled, values: Values): Promise<R[]> {
  const args = compiled.params.map((p) => (is(p, Placeholder) ? values[p.name] : p)) as never
  const statement: RowsByPosition = { sql: compiled.sql, args, rowsByPosition: true }
  return (await db.$client.execute(statement)).rows as unknown as R[]
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { migrate } from 'drizzle-orm/libsql/migrator'
import type { Database } from './client'

export const migrationsFolder = join(import.meta.dir, '..', '..', 'migrations')

interface JournalEntry {
  tag: string
  when: number
}

function journal(): JournalEntry[] {
  const file = join(migrationsFolder, 'meta', '_journal.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { entries: JournalEntry[] }).entries
}

/** Names of the migrations not yet applied (drizzle's rule: newer than the last applied). */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const table = await database.client.execute(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'",
  )
  let last = -1
  if (table.rows.length > 0) {
    const applied = await database.client.execute('SELECT max(created_at) AS last FROM __drizzle_migrations')
    last = Number(applied.rows[0]?.last ?? -1)
  }
  return journal()
    .filter((entry) => entry.when > last)
    .map((entry) => entry.tag)
}

/** Applies every pending migration in one batch; returns the names applied. */
export async function runMigrations(database: Database): Promise<string[]> {
  const pending = await pendingMigrations(database)
  if (pending.length > 0) await migrate(database.db, { migrationsFolder })
  return pending
}

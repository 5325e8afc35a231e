import type { Database } from './client'

/** Drops every table, index and trigger, the migrations journal included. */
export async function resetDatabase(database: Database): Promise<void> {
  const { rows } = await database.client.execute(
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger', 'view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litestream%'",
  )
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`
  const drops = rows.map((r) => `DROP ${String(r.type).toUpperCase()} IF EXISTS ${quote(String(r.name))}`)
  // Foreign keys cannot be switched off inside a transaction, so around the batch.
  await database.client.execute('PRAGMA foreign_keys = OFF')
  try {
    await database.client.batch(drops, 'write')
  } finally {
    await database.client.execute('PRAGMA foreign_keys = ON')
  }
}

import type { Database } from './client'

/**
 * Drops every table, view and trigger, the migrations journal included. Tables go children
 * first, so the drops are valid with foreign keys on (a remote database applies each
 * request on its own connection, where a `PRAGMA foreign_keys = OFF` would not carry over).
 */
export async function resetDatabase(database: Database): Promise<void> {
  const { rows } = await database.client.execute(
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger', 'view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litestream%' AND name NOT LIKE 'libsql_%'",
  )
  const { rows: edges } = await database.client.execute(
    'SELECT m.name AS child, f."table" AS parent FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = \'table\'',
  )
  const tables = rows.filter((r) => r.type === 'table').map((r) => String(r.name))
  const parentsOf = new Map<string, Set<string>>(tables.map((t) => [t, new Set()]))
  for (const e of edges) if (String(e.child) !== String(e.parent)) parentsOf.get(String(e.child))?.add(String(e.parent))
  // Repeatedly take the tables no remaining table refers to.
  const order: string[] = []
  const left = new Set(tables)
  while (left.size > 0) {
    const leaves = [...left].filter((t) => ![...left].some((other) => parentsOf.get(other)?.has(t)))
    const next = leaves.length > 0 ? leaves : [...left]
    for (const t of next) {
      order.push(t)
      left.delete(t)
    }
  }
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`
  const others = rows
    .filter((r) => r.type !== 'table')
    .map((r) => `DROP ${String(r.type).toUpperCase()} IF EXISTS ${quote(String(r.name))}`)
  await database.client.batch([...others, ...order.map((t) => `DROP TABLE IF EXISTS ${quote(t)}`)], 'write')
}

import type { Client } from '@libsql/client'

/**
 * What timeline_entries must hold, from the definition: own posts, and every post of every
 * followee. A subquery, because compound operators group left to right (`a EXCEPT b UNION c`
 * would add c back).
 */
const EXPECTED_ENTRIES = `
  SELECT * FROM (
    SELECT author_id, id FROM posts
    UNION
    SELECT f.follower_id, p.id FROM follows f JOIN posts p ON p.author_id = f.followee_id)`

/** Rows of timeline_entries that should not be there, and rows missing from it (both 0 when exact). */
export async function entryMismatches(client: Client): Promise<{ extra: number; missing: number }> {
  const count = async (sql: string) => Number((await client.execute(sql)).rows[0]?.[0])
  return {
    extra: await count(
      `SELECT count(*) FROM (SELECT user_id, post_id FROM timeline_entries EXCEPT ${EXPECTED_ENTRIES})`,
    ),
    missing: await count(
      `SELECT count(*) FROM (${EXPECTED_ENTRIES} EXCEPT SELECT user_id, post_id FROM timeline_entries)`,
    ),
  }
}

/** A user's whole home timeline by brute force: ids newest first, as the API pages through it. */
export async function expectedTimeline(client: Client, userId: number | string): Promise<string[]> {
  const result = await client.execute({
    sql: `SELECT p.id FROM posts p JOIN users u ON u.id = p.author_id
          WHERE u.disabled = 0
            AND (p.author_id = ?1 OR p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1))
          ORDER BY p.id DESC`,
    args: [Number(userId)],
  })
  return result.rows.map((r) => String(r.id))
}

import { sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import type { PageRequest } from '../../http/pagination'
import { postList } from '../posts/list'

/**
 * The viewer's own posts and those of the accounts they follow, newest first: a walk of the
 * viewer's range of timeline_entries (written on fan-out: docs/data-model.md) down from the cursor,
 * each post joined by primary key, that stops at the page. It reads limit + 1 entries, plus those of
 * disabled authors: their posts are skipped as everywhere else, and their entries stay, so the
 * posts come back if the account is enabled again. The CROSS JOIN keeps timeline_entries outermost
 * whatever ANALYZE says; the plan is the same with and without statistics (test/list-plans.test.ts):
 *
 *   SEARCH timeline_entries USING PRIMARY KEY (user_id=? AND post_id<?)  -- (user_id=?) on page one
 *   SEARCH posts USING INTEGER PRIMARY KEY (rowid=?)
 *   SEARCH u USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN              -- the author, enabled
 *   CORRELATED SCALAR SUBQUERY                                          -- liked_by_me
 *     SEARCH l USING COVERING INDEX likes_user_post_unique (user_id=? AND post_id=?)
 */
const home = postList({
  name: 'timeline',
  from: sql`timeline_entries cross join posts`,
  where: () => [sql`timeline_entries.user_id = ${sql.placeholder('viewer')}`, sql`posts.id = timeline_entries.post_id`],
  key: sql`timeline_entries.post_id`,
  order: 'desc',
})

export class TimelineService {
  constructor(private readonly db: Db) {}

  /** The viewer's home timeline, newest first. */
  home(viewerId: number, page: PageRequest) {
    return home.page(this.db, {}, {}, page, viewerId)
  }
}

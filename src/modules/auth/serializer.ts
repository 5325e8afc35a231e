import type { SessionRow } from '../../db/schema'
import { iso } from '../../http/iso'
import type { SessionListWire } from './model'
import type { Viewer } from './service'

/** The user's live sessions, the one making the request marked `current`. */
export function sessionList(
  rows: Array<Pick<SessionRow, 'id' | 'createdAt' | 'lastUsedAt' | 'userAgent'>>,
  viewer: Viewer,
): SessionListWire {
  return {
    items: rows.map((s) => ({
      id: s.id,
      created_at: iso(s.createdAt),
      last_used_at: iso(s.lastUsedAt),
      user_agent: s.userAgent,
      current: s.id === viewer.sessionId,
    })),
    next_cursor: null,
  }
}

import { Elysia, t } from 'elysia'
import type { Database } from '../../db/client'
import { pendingMigrations } from '../../db/migrate'

const Status = t.Object({ status: t.String() })

/** Liveness, readiness (database answers, every migration applied). */
export function opsModule(database: Database) {
  return new Elysia({ name: 'ops', detail: { tags: ['ops'] } })
    .get('/health', () => ({ status: 'ok' }), {
      response: { 200: Status },
      detail: { summary: 'Liveness: 200 while the process serves' },
    })
    .get(
      '/ready',
      async ({ set }) => {
        try {
          const pending = await pendingMigrations(database)
          if (pending.length > 0) {
            set.status = 503
            return { status: 'migrating', pending }
          }
          return { status: 'ready' }
        } catch {
          set.status = 503
          return { status: 'database_unavailable' }
        }
      },
      {
        response: {
          200: Status,
          503: t.Object({ status: t.String(), pending: t.Optional(t.Array(t.String())) }),
        },
        detail: { summary: 'Readiness: 200 when the database answers and every migration is applied' },
      },
    )
}

/**
 * One writer process of the cross-process contention run: the same services the server uses,
 * on the same database file, acting as its own users. Prints one JSON line: what it did and
 * every error it met (SQLITE_BUSY would show here).
 *   bun test-reliability/writer.ts <job.json>
 */
import { readFileSync } from 'node:fs'
import { createServices } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import { createLogger } from '../src/logger'
import type { Viewer } from '../src/modules/auth/service'

export interface WriterJob {
  users: Array<{ id: number; username: string }>
  hotPostId: number
  togglePostId: number
  hotUsername: string
  postsPerUser: number
  toggles: number
}

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as WriterJob
const config = loadConfig()
const database = await openDatabase(config.database)
const services = createServices({ config, database, logger: createLogger('silent') })
const errors: string[] = []
let ops = 0
const run = async (write: () => Promise<unknown>) => {
  try {
    await write()
    ops++
  } catch (error) {
    errors.push(String((error as Error)?.message ?? error).slice(0, 200))
  }
}
const started = performance.now()
// Eight users at a time, like eight concurrent requests.
let next = 0
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < job.users.length) {
      const u = job.users[next++] as WriterJob['users'][number]
      const viewer: Viewer = { id: u.id, username: u.username, role: 'user', sessionId: 'writer' }
      await run(() => services.likes.like(viewer, job.hotPostId))
      await run(() => services.follows.follow(viewer, job.hotUsername))
      for (let k = 0; k < job.postsPerUser; k++)
        await run(() => services.posts.create(viewer, { text: `w ${u.username} ${k}` }))
      for (let k = 0; k < job.toggles; k++) {
        await run(() => services.likes.unlike(viewer, job.togglePostId))
        await run(() => services.likes.like(viewer, job.togglePostId))
      }
    }
  }),
)
database.close()
process.stdout.write(`${JSON.stringify({ ops, errors, ms: Math.round(performance.now() - started) })}\n`)

/**
 * The ceilings every Pamps figure is a ratio of, served by raw Bun.serve on 127.0.0.1:
 *   hello  — a fixed JSON body;
 *   feed   — bun:sqlite running the global feed query (a page of 20 posts with their authors)
 *            over the same database file, rows returned as JSON;
 *   insert — bun:sqlite inserting one row per request with synchronous=FULL (WAL).
 *   bun bench/ceiling.ts <hello|feed|insert> <port> [database file]
 */
import { Database } from 'bun:sqlite'
import { CEILING_FEED_SQL } from './queries'

const [mode, portArg, file] = process.argv.slice(2)
const port = Number(portArg)

function serve(fetch: (req: Request) => Response) {
  Bun.serve({ hostname: '127.0.0.1', port, fetch })
}

if (mode === 'hello') {
  const body = JSON.stringify({ status: 'ok' })
  serve(() => new Response(body, { headers: { 'content-type': 'application/json' } }))
} else if (mode === 'feed') {
  const db = new Database(file ?? '', { readonly: true })
  const page = db.prepare(CEILING_FEED_SQL)
  serve(() => Response.json(page.all()))
} else if (mode === 'insert') {
  const db = new Database(file ?? '')
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000')
  db.exec(
    'CREATE TABLE IF NOT EXISTS ceiling_posts (id INTEGER PRIMARY KEY, author_id INTEGER, text TEXT, created_at INTEGER)',
  )
  const insert = db.prepare('insert into ceiling_posts (author_id, text, created_at) values (?, ?, ?) returning id')
  serve(() => Response.json(insert.get(1, 'a ceiling post', Date.now()), { status: 201 }))
} else {
  console.error('usage: bun bench/ceiling.ts <hello|feed|insert> <port> [database file]')
  process.exit(2)
}

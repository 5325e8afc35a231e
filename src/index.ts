import { createApp, createServices } from './app'
import { ConfigError, loadConfig } from './config'
import { startDatabase } from './db/client'
import { runMigrations } from './db/migrate'
import { Metrics } from './http/metrics'
import { createLogger, type Logger } from './logger'

async function main() {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`pamps: configuration error: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config.logLevel)
  if (config.jwt.generated)
    logger.warn('JWT_SECRET is not set: using a generated development secret kept in the data directory')

  // A file database opens at once and is migrated before listening. A remote primary or an
  // embedded replica connects in the background, retrying for as long as it takes: the
  // server listens meanwhile, /health answers 200 and /ready 503 until the replica has synced
  // and every migration is applied (normally by the release command, before this boots).
  const { database, connected } = startDatabase(config.database, {
    logger,
    attempts: config.database.syncUrl || !config.database.url.startsWith('file:') ? Number.POSITIVE_INFINITY : 1,
  })
  const migrate = async () => {
    const applied = await runMigrations(database)
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations')
  }
  if (database.mode === 'file') {
    await connected
    await migrate()
  }

  const metrics = new Metrics()
  const services = createServices({ config, database, logger, metrics })
  const app = createApp({ config, database, logger, metrics, services })
  app.listen({
    hostname: config.host,
    port: config.port,
    // A hard cap above the API's own limit, so oversized bodies get our 413 problem+json.
    maxRequestBodySize: Math.max(config.bodyLimit * 4, 1024 * 1024),
  })
  const server = app.server
  if (!server) throw new Error('server did not start')
  logger.info({ url: `http://${config.host}:${server.port}`, database: database.mode }, 'pamps listening')
  // Rejects only when the database is closed (shutdown) before it ever connected.
  const startWorkers = () => {
    services.mailer.start()
    services.fanout.start()
  }
  if (database.mode !== 'file')
    prepareInBackground(connected, migrate, logger)
      .then(startWorkers)
      .catch(() => {})
  else startWorkers()

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: draining in-flight requests')
    const forced = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing them')
      void server.stop(true)
    }, config.shutdownTimeoutMs)
    await server.stop(false)
    clearTimeout(forced)
    // A delivery or a fan-out chunk in progress finishes; the rest stays queued for next time.
    await Promise.all([services.mailer.stop(), services.fanout.stop()])
    database.close()
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

/** Waits for the primary, then applies pending migrations, retrying until they are in. */
async function prepareInBackground(connected: Promise<void>, migrate: () => Promise<void>, logger: Logger) {
  await connected
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate()
      logger.info('database ready')
      return
    } catch (error) {
      const delay = Math.min(500 * 2 ** attempt, 30_000)
      logger.warn({ attempt, retry_in_ms: delay, err: error }, 'migrations could not be applied; retrying')
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}

main().catch((error) => {
  process.stderr.write(`pamps: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})

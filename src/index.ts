import { createApp } from './app'
import { ConfigError, loadConfig } from './config'
import { openDatabase } from './db/client'
import { runMigrations } from './db/migrate'
import { createLogger } from './logger'

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

  const database = await openDatabase(config.database, { logger })
  const applied = await runMigrations(database)
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations')

  const app = createApp({ config, database, logger })
  app.listen({
    hostname: config.host,
    port: config.port,
    // A hard cap above the API's own limit, so oversized bodies get our 413 problem+json.
    maxRequestBodySize: Math.max(config.bodyLimit * 4, 1024 * 1024),
  })
  const server = app.server
  if (!server) throw new Error('server did not start')
  logger.info({ url: `http://${config.host}:${server.port}`, database: database.mode }, 'pamps listening')

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
    database.close()
    logger.info('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

main().catch((error) => {
  process.stderr.write(`pamps: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})

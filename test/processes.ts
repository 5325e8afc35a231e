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

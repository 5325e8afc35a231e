import { createInterface } from 'node:readline/promises'

/** Rows of strings → an aligned, plain-text table with a header. */
export function table(rows: Array<Record<string, string>>): string {
  const first = rows[0]
  if (!first) return ''
  const columns = Object.keys(first)
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join(
    '\n',
  )
}

export async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return await rl.question(question)
  } finally {
    rl.close()
  }
}

/** Reads a line from the terminal without echoing it. */
export function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin
    process.stderr.write(question)
    stdin.setRawMode(true)
    stdin.resume()
    let value = ''
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done()
          resolve(value)
          return
        }
        if (ch === '\u0003') {
          done()
          reject(new Error('cancelled'))
          return
        }
        if (ch === '\u007f') value = value.slice(0, -1)
        else value += ch
      }
    }
    const done = () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    stdin.on('data', onData)
  })
}

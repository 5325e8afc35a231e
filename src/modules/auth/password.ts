import { unavailable } from '../../http/problem'

export interface PasswordOptions {
  memoryCost: number
  timeCost: number
  /** Hashes running at once; argon2id is CPU- and memory-bound, so about the core count. */
  maxConcurrent: number
}

/**
 * argon2id through Bun.password (off the event loop, on Bun's thread pool), with a bound on
 * concurrent hashes so a login flood queues here instead of starving every other request.
 */
export class PasswordHasher {
  #running = 0
  #queue: Array<() => void> = []
  #dummy: Promise<string> | undefined

  constructor(private readonly options: PasswordOptions) {}

  hash(password: string): Promise<string> {
    return this.#limited(() =>
      Bun.password.hash(password, {
        algorithm: 'argon2id',
        memoryCost: this.options.memoryCost,
        timeCost: this.options.timeCost,
      }),
    )
  }

  /** Verifies against the stored hash, or a dummy one when there is no user, in similar time. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    this.#dummy ??= this.hash('dummy password for unknown accounts')
    const target = hash ?? (await this.#dummy)
    const ok = await this.#limited(() => Bun.password.verify(password, target, 'argon2id'))
    return hash !== undefined && ok
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.options.maxConcurrent) {
      // Past a short queue, answer at once rather than make everyone wait. The floor keeps a
      // burst of sign-ups served when only one hash runs at a time (1-2 s of work at most).
      if (this.#queue.length >= Math.max(64, this.options.maxConcurrent * 32))
        throw unavailable('Too many sign-ins at once; try again shortly')
      await new Promise<void>((resolve) => this.#queue.push(resolve))
    } else this.#running++
    try {
      return await fn()
    } finally {
      const next = this.#queue.shift()
      if (next) next()
      else this.#running--
    }
  }
}

import { Value } from '@sinclair/typebox/value'
import { Command, InvalidArgumentError } from 'commander'
import { createServices } from '../app'
import { ConfigError, loadConfig } from '../config'
import { type Database, openDatabase } from '../db/client'
import { runMigrations } from '../db/migrate'
import { resetDatabase } from '../db/reset'
import { safeError } from '../errors'
import { iso } from '../http/iso'
import { HttpError } from '../http/problem'
import { createLogger } from '../logger'
import { RegisterBody } from '../modules/auth/model'
import { privateUser } from '../modules/users/serializer'
import { registerSeed } from './seed'
import { ask, askHidden, table } from './terminal'

/** A failure to report as one line on stderr. */
class CliError extends Error {}

async function withDatabase<T>(
  fn: (database: Database, config: ReturnType<typeof loadConfig>) => Promise<T>,
  options: { migrate: boolean } = { migrate: true },
) {
  const config = loadConfig()
  let database: Database
  try {
    database = await openDatabase(config.database)
  } catch (error) {
    throw new CliError(`cannot open the database at ${config.database.url}: ${(error as Error).message}`)
  }
  try {
    // Like the server at boot, bring the schema up to date before touching it.
    if (options.migrate) await runMigrations(database)
    return await fn(database, config)
  } finally {
    database.close()
  }
}

async function readPassword(given: string | undefined): Promise<string> {
  if (given !== undefined) return given
  if (process.stdin.isTTY) {
    const first = await askHidden('Password: ')
    const second = await askHidden('Repeat password: ')
    if (first !== second) throw new CliError('the passwords do not match')
    return first
  }
  // Not a terminal: the first line of standard input (e.g. `echo "$PW" | pamps create-user …`).
  const text = await new Response(Bun.stdin.stream()).text()
  const line = text.split('\n')[0] ?? ''
  if (!line) throw new CliError('no password: pass --password or pipe it on standard input')
  return line
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer')
  return n
}

export function buildProgram() {
  const program = new Command()
    .name('pamps')
    .description('Operate a Pamps server: accounts, migrations, demo data.')
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (text, write) => write(text.split('\n')[0] ? `${text.trim().split('\n')[0]}\n` : text),
    })

  program
    .command('create-user')
    .description('create a user; asks for the password on a terminal when --password is not given')
    .argument('<email>', 'email address')
    .argument('<username>', 'username: 3 to 30 of a-z, 0-9 and _')
    .option('--password <password>', 'the password (8 to 128 characters)')
    .option('--admin', 'give the user the admin role', false)
    .option('--json', 'print the user as JSON', false)
    .action(async (email: string, username: string, opts: { password?: string; admin: boolean; json: boolean }) => {
      const password = await readPassword(opts.password)
      const input = { username, email, password }
      const firstError = [...Value.Errors(RegisterBody, input)][0]
      if (firstError) {
        const schema = firstError.schema as { error?: string }
        throw new CliError(schema.error ?? `${firstError.path.slice(1)}: ${firstError.message}`)
      }
      await withDatabase(async (database, config) => {
        const { auth } = createServices({ config, database, logger: createLogger('warn') })
        const user = await auth.createAccount({ ...input, role: opts.admin ? 'admin' : 'user' })
        const wire = privateUser(user)
        if (opts.json) console.log(JSON.stringify(wire))
        else
          console.log(
            table([
              { id: wire.id, username: wire.username, email: wire.email, role: wire.role, created: wire.created_at },
            ]),
          )
      })
    })

  program
    .command('users')
    .description('list users: username, email, role, created, disabled')
    .option('--json', 'one JSON object per line instead of a table', false)
    .option('--limit <n>', 'at most this many, newest first', positiveInt, 1000)
    .action(async (opts: { json: boolean; limit: number }) => {
      await withDatabase(async (database) => {
        const rows = await database.db.query.users.findMany({
          orderBy: (u, { desc }) => [desc(u.id)],
          limit: opts.limit,
        })
        if (opts.json) {
          for (const row of rows) console.log(JSON.stringify(privateUser(row)))
          return
        }
        if (rows.length === 0) {
          console.log('No users yet.')
          return
        }
        console.log(
          table(
            rows.map((u) => ({
              username: u.username,
              email: u.email,
              role: u.role,
              created: iso(u.createdAt).slice(0, 19).replace('T', ' '),
              disabled: u.disabled ? 'yes' : 'no',
            })),
          ),
        )
      })
    })

  program
    .command('migrate')
    .description('apply pending migrations to DATABASE_URL and say which')
    .action(async () => {
      await withDatabase(
        async (database, config) => {
          const applied = await runMigrations(database)
          if (applied.length === 0) console.log(`No pending migrations (${config.database.url}).`)
          else for (const name of applied) console.log(`applied ${name}`)
        },
        { migrate: false },
      )
    })

  program
    .command('reset-db')
    .description('drop and recreate every table (refused when NODE_ENV=production)')
    .option('--yes', 'do not ask for confirmation', false)
    .action(async (opts: { yes: boolean }) => {
      const config = loadConfig()
      if (config.nodeEnv === 'production') throw new CliError('refusing to reset a database with NODE_ENV=production')
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new CliError('refusing to reset without --yes (not a terminal)')
        const answer = await ask(`Drop every table in ${config.database.url}? Type "yes": `)
        if (answer.trim() !== 'yes') throw new CliError('not confirmed; nothing changed')
      }
      await withDatabase(
        async (database) => {
          await resetDatabase(database)
          const applied = await runMigrations(database)
          console.log(`Reset ${config.database.url}: dropped every table, applied ${applied.length} migrations.`)
        },
        { migrate: false },
      )
    })

  registerSeed(program, { withDatabase, fail: (message) => new CliError(message) })

  return program
}

export async function main(argv: string[]) {
  try {
    await buildProgram().parseAsync(argv)
  } catch (error) {
    const message =
      error instanceof CliError || error instanceof ConfigError
        ? error.message
        : error instanceof HttpError
          ? error.message
          : `unexpected error: ${safeError(error).message}`
    process.stderr.write(`pamps: ${message}\n`)
    process.exitCode = 1
  }
}

if (import.meta.main) await main(process.argv)

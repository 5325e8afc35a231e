import pino from 'pino'
import type { LogLevel } from './config'

export type Logger = pino.Logger

/** One JSON object per line on stdout; secrets are redacted wherever they appear. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'secret'],
      censor: '[redacted]',
    },
  })
}

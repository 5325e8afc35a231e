/**
 * A loggable view of an error that never carries query parameters: Drizzle's
 * "Failed query: … params: …" message would otherwise put password hashes in the logs.
 */
export function safeError(error: unknown): { type: string; message: string; code?: string } {
  const e = error as { name?: string; message?: string; code?: string; cause?: unknown }
  if (e && typeof e.message === 'string' && e.message.startsWith('Failed query:') && e.cause) return safeError(e.cause)
  return {
    type: e?.name ?? typeof error,
    message: String(e?.message ?? error).replace(/\nparams:[\s\S]*$/, ''),
    ...(e?.code ? { code: e.code } : {}),
  }
}

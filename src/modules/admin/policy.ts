import type { Viewer } from '../auth/service'

/** Only administrators use the admin routes. */
export const isAdmin = (viewer: Viewer) => viewer.role === 'admin'

/** An administrator may not disable or demote themselves (the last admin could lock everyone out). */
export const canChangeUser = (viewer: Viewer, username: string, patch: { role?: string; disabled?: boolean }) =>
  username.toLowerCase() !== viewer.username.toLowerCase() || (!patch.disabled && patch.role !== 'user')

import type { Viewer } from '../auth/service'

/** Nobody follows themselves. */
export const canFollow = (viewer: Viewer, username: string) => username.toLowerCase() !== viewer.username.toLowerCase()

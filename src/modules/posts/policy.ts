import type { Viewer } from '../auth/service'

interface Authored {
  authorId: number
}

/** Only the author edits a post. */
export const canEditPost = (viewer: Viewer, post: Authored) => post.authorId === viewer.id

/** The author or an admin deletes a post. */
export const canDeletePost = (viewer: Viewer, post: Authored) => post.authorId === viewer.id || viewer.role === 'admin'

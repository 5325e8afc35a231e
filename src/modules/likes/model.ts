import { t } from 'elysia'

export const LikeResult = t.Object({ liked: t.Boolean(), likes_count: t.Integer() }, { title: 'LikeResult' })

export type LikeResultWire = typeof LikeResult.static

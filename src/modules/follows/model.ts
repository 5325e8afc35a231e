import { t } from 'elysia'

export const FollowResult = t.Object(
  {
    following: t.Boolean(),
    followers_count: t.Integer({ description: 'The followee’s followers count after this request' }),
  },
  { title: 'FollowResult' },
)

export type FollowResultWire = typeof FollowResult.static

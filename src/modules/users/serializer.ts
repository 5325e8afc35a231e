import type { UserRow } from '../../db/schema'
import { iso } from '../../http/iso'
import type { PrivateUserWire, PublicUserWire, UserSummaryWire } from './model'
import type { UserWithRelation } from './service'

type SummaryRow = Pick<UserRow, 'id' | 'username' | 'displayName' | 'avatarUrl'>
type PublicRow = SummaryRow & Pick<UserRow, 'bio' | 'createdAt' | 'followersCount' | 'followingCount' | 'postsCount'>

/** What the caller's relation to a user is; absent for anonymous callers. */
export interface Relation {
  followedByMe: boolean
  followsMe: boolean
}

export function userSummary(row: SummaryRow): UserSummaryWire {
  return {
    id: String(row.id),
    username: row.username,
    display_name: row.displayName,
    avatar_url: row.avatarUrl ?? null,
  }
}

export function publicUser(row: PublicRow, relation?: Relation): PublicUserWire {
  return {
    ...userSummary(row),
    bio: row.bio,
    created_at: iso(row.createdAt),
    followers_count: row.followersCount,
    following_count: row.followingCount,
    posts_count: row.postsCount,
    ...(relation ? { followed_by_me: relation.followedByMe, follows_me: relation.followsMe } : {}),
  }
}

export function privateUser(row: UserRow, relation?: Relation): PrivateUserWire {
  return {
    ...publicUser(row, relation),
    email: row.email,
    email_verified: row.emailVerified,
    role: row.role,
    disabled: row.disabled,
  }
}

/** A user in a list (followers, likers): the profile with the caller's relation to them. */
export const listedUser = (row: { user: UserWithRelation }) => publicUser(row.user, row.user.relation)

import type { FollowResultWire } from './model'
import type { FollowState } from './service'

export function followResult(state: FollowState): FollowResultWire {
  return { following: state.following, followers_count: state.followersCount }
}

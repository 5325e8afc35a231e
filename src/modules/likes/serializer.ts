import type { LikeResultWire } from './model'
import type { LikeState } from './service'

export function likeResult(state: LikeState): LikeResultWire {
  return { liked: state.liked, likes_count: state.likesCount }
}

/** Ceiling (b)'s query: the global feed page, 20 posts joined with their authors, as plainly as SQL says it. */
export const CEILING_FEED_SQL = `
  select p.id, p.text, p.reply_to_id, p.created_at, p.edited_at, p.likes_count, p.replies_count,
         u.id as author_id, u.username, u.display_name, u.avatar_url
  from posts p join users u on u.id = p.author_id
  where p.reply_to_id is null and u.disabled = 0
  order by p.id desc limit 21`

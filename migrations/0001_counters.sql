-- Counters change in the same statement as the row they count, whoever writes it
-- (API, CLI, seed) and however it is deleted (directly or by a cascade).
CREATE TRIGGER `posts_after_insert` AFTER INSERT ON `posts` BEGIN
	UPDATE `users` SET `posts_count` = `posts_count` + 1 WHERE `id` = NEW.`author_id`;
	UPDATE `posts` SET `replies_count` = `replies_count` + 1 WHERE NEW.`reply_to_id` IS NOT NULL AND `id` = NEW.`reply_to_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `posts_after_delete` AFTER DELETE ON `posts` BEGIN
	UPDATE `users` SET `posts_count` = `posts_count` - 1 WHERE `id` = OLD.`author_id`;
	UPDATE `posts` SET `replies_count` = `replies_count` - 1 WHERE OLD.`reply_to_id` IS NOT NULL AND `id` = OLD.`reply_to_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `likes_after_insert` AFTER INSERT ON `likes` BEGIN
	UPDATE `posts` SET `likes_count` = `likes_count` + 1 WHERE `id` = NEW.`post_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `likes_after_delete` AFTER DELETE ON `likes` BEGIN
	UPDATE `posts` SET `likes_count` = `likes_count` - 1 WHERE `id` = OLD.`post_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `follows_after_insert` AFTER INSERT ON `follows` BEGIN
	UPDATE `users` SET `following_count` = `following_count` + 1 WHERE `id` = NEW.`follower_id`;
	UPDATE `users` SET `followers_count` = `followers_count` + 1 WHERE `id` = NEW.`followee_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `follows_after_delete` AFTER DELETE ON `follows` BEGIN
	UPDATE `users` SET `following_count` = `following_count` - 1 WHERE `id` = OLD.`follower_id`;
	UPDATE `users` SET `followers_count` = `followers_count` - 1 WHERE `id` = OLD.`followee_id`;
END;

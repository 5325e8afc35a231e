CREATE TABLE `timeline_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`post_id` integer,
	`author_id` integer,
	`follower_id` integer,
	`followee_id` integer,
	`cursor` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "timeline_jobs_kind_check" CHECK(("timeline_jobs"."kind" in ('post', 'unpost') and "timeline_jobs"."post_id" is not null and "timeline_jobs"."author_id" is not null) or ("timeline_jobs"."kind" in ('follow', 'unfollow') and "timeline_jobs"."follower_id" is not null and "timeline_jobs"."followee_id" is not null))
);
--> statement-breakpoint
CREATE INDEX `timeline_jobs_unpost_idx` ON `timeline_jobs` (`author_id`) WHERE "timeline_jobs"."kind" = 'unpost';--> statement-breakpoint
CREATE INDEX `timeline_jobs_unfollow_idx` ON `timeline_jobs` (`followee_id`) WHERE "timeline_jobs"."kind" = 'unfollow';--> statement-breakpoint
-- The fan-out triggers of 0003, with a size limit: a fan-out of at most 100 followers (a post
-- written or deleted) or 1,000 posts (a follow or an unfollow) is written inline as before, a
-- few milliseconds at most; a larger one is queued in timeline_jobs and written by the
-- FanoutWorker in bounded chunks (src/modules/timeline/fanout.ts, which names these limits).
-- A post's own entry in its author's timeline is always written at once.
--
-- Whatever the interleaving, entries converge to the exact set: every write, inline or by a
-- job, checks the current state in its own statement. An entry is inserted only while its post
-- and its follow exist; one is deleted only while either is gone. A removal, inline or queued,
-- also covers the other kind of pending removal of the same account: a deleted post also leaves
-- the timelines of followers whose unfollow is still queued, and an unfollow also takes the
-- followee's deleted posts whose removal is still queued (otherwise an entry whose post and
-- follow both went could be missed by both walks). test/timeline-jobs.test.ts checks this.
--
-- An author's row that is already gone (an account being deleted, by cascade) counts as small:
-- its removals stay inline, as with 0003 (by then its follows or its posts are going too, and a
-- job would have nothing left to walk). A follower that is gone needs no removal at all: its
-- own entries go by the cascade on timeline_entries.user_id. Insert jobs end as soon as their
-- post or follow is gone: a follow made again has a fan-out of its own.
DROP TRIGGER `timeline_posts_after_insert`;
--> statement-breakpoint
DROP TRIGGER `timeline_posts_after_delete`;
--> statement-breakpoint
DROP TRIGGER `timeline_follows_after_insert`;
--> statement-breakpoint
DROP TRIGGER `timeline_follows_after_delete`;
--> statement-breakpoint
CREATE TRIGGER `timeline_posts_after_insert` AFTER INSERT ON `posts` BEGIN
	INSERT OR IGNORE INTO `timeline_entries` (`user_id`, `post_id`)
		SELECT NEW.`author_id`, NEW.`id`
		UNION ALL
		SELECT f.`follower_id`, NEW.`id` FROM `users` u JOIN `follows` f ON f.`followee_id` = u.`id`
		WHERE u.`id` = NEW.`author_id` AND u.`followers_count` <= 100;
	INSERT INTO `timeline_jobs` (`kind`, `post_id`, `author_id`)
		SELECT 'post', NEW.`id`, NEW.`author_id` FROM `users` WHERE `id` = NEW.`author_id` AND `followers_count` > 100;
END;
--> statement-breakpoint
-- `= (SELECT OLD.x WHERE small)` rather than `= OLD.x AND small`: SQLite would test a condition
-- on a subquery row by row, walking all the follows (or posts) of a large account for nothing.
CREATE TRIGGER `timeline_posts_after_delete` AFTER DELETE ON `posts` BEGIN
	DELETE FROM `timeline_entries` WHERE `post_id` = OLD.`id` AND `user_id` IN (
		SELECT OLD.`author_id`
		UNION ALL
		SELECT `follower_id` FROM `follows` WHERE `followee_id` = (SELECT OLD.`author_id`
			WHERE coalesce((SELECT `followers_count` FROM `users` WHERE `id` = OLD.`author_id`), 0) <= 100)
		UNION ALL
		SELECT `follower_id` FROM `timeline_jobs` WHERE `kind` = 'unfollow' AND `followee_id` = (SELECT OLD.`author_id`
			WHERE coalesce((SELECT `followers_count` FROM `users` WHERE `id` = OLD.`author_id`), 0) <= 100));
	INSERT INTO `timeline_jobs` (`kind`, `post_id`, `author_id`)
		SELECT 'unpost', OLD.`id`, OLD.`author_id` FROM `users` WHERE `id` = OLD.`author_id` AND `followers_count` > 100;
END;
--> statement-breakpoint
CREATE TRIGGER `timeline_follows_after_insert` AFTER INSERT ON `follows` BEGIN
	INSERT OR IGNORE INTO `timeline_entries` (`user_id`, `post_id`)
		SELECT NEW.`follower_id`, p.`id` FROM `users` u JOIN `posts` p ON p.`author_id` = u.`id`
		WHERE u.`id` = NEW.`followee_id` AND u.`posts_count` <= 1000;
	INSERT INTO `timeline_jobs` (`kind`, `follower_id`, `followee_id`)
		SELECT 'follow', NEW.`follower_id`, NEW.`followee_id` FROM `users` WHERE `id` = NEW.`followee_id` AND `posts_count` > 1000;
END;
--> statement-breakpoint
CREATE TRIGGER `timeline_follows_after_delete` AFTER DELETE ON `follows` BEGIN
	DELETE FROM `timeline_entries` WHERE `user_id` = OLD.`follower_id` AND `post_id` IN (
		SELECT `id` FROM `posts` WHERE `author_id` = (SELECT OLD.`followee_id`
			WHERE coalesce((SELECT `posts_count` FROM `users` WHERE `id` = OLD.`followee_id`), 0) <= 1000)
		UNION ALL
		SELECT `post_id` FROM `timeline_jobs` WHERE `kind` = 'unpost' AND `author_id` = (SELECT OLD.`followee_id`
			WHERE coalesce((SELECT `posts_count` FROM `users` WHERE `id` = OLD.`followee_id`), 0) <= 1000));
	INSERT INTO `timeline_jobs` (`kind`, `follower_id`, `followee_id`)
		SELECT 'unfollow', OLD.`follower_id`, OLD.`followee_id` FROM `users` WHERE `id` = OLD.`followee_id` AND `posts_count` > 1000
			AND EXISTS (SELECT 1 FROM `users` WHERE `id` = OLD.`follower_id`);
END;

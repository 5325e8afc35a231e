-- Home timelines written on fan-out (see timelineEntries in src/db/schema.ts): a page is a walk
-- of one user's primary-key range, whatever the number of posts and follows. WITHOUT ROWID: the
-- primary key is the only copy of the rows.
CREATE TABLE `timeline_entries` (
	`user_id` integer NOT NULL,
	`post_id` integer NOT NULL,
	PRIMARY KEY(`user_id`, `post_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
) WITHOUT ROWID;
--> statement-breakpoint
-- Existing rows, in primary-key order: each page of the B-tree is written once.
INSERT INTO `timeline_entries` (`user_id`, `post_id`)
	SELECT `author_id`, `id` FROM `posts`
	UNION ALL
	SELECT f.`follower_id`, p.`id` FROM `follows` f JOIN `posts` p ON p.`author_id` = f.`followee_id`
	ORDER BY 1, 2;
--> statement-breakpoint
-- The triggers keep entries exact for every writer, including foreign-key cascades. Deleting a
-- user cascades to their posts and to the follows on both sides, in an order SQLite chooses: an
-- entry (follower, post) goes with whichever of its post or its follow is deleted first, while
-- the other still exists to find it, and the user's own rows go by the cascade on user_id.
-- OR IGNORE: an entry that is already there is the one that would be written.
CREATE TRIGGER `timeline_posts_after_insert` AFTER INSERT ON `posts` BEGIN
	INSERT OR IGNORE INTO `timeline_entries` (`user_id`, `post_id`)
		SELECT NEW.`author_id`, NEW.`id`
		UNION ALL
		SELECT `follower_id`, NEW.`id` FROM `follows` WHERE `followee_id` = NEW.`author_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `timeline_posts_after_delete` AFTER DELETE ON `posts` BEGIN
	DELETE FROM `timeline_entries` WHERE `post_id` = OLD.`id` AND `user_id` IN (
		SELECT OLD.`author_id`
		UNION ALL
		SELECT `follower_id` FROM `follows` WHERE `followee_id` = OLD.`author_id`);
END;
--> statement-breakpoint
-- A new follow brings all of the followee's posts, so paging back through a timeline stays exact.
CREATE TRIGGER `timeline_follows_after_insert` AFTER INSERT ON `follows` BEGIN
	INSERT OR IGNORE INTO `timeline_entries` (`user_id`, `post_id`)
		SELECT NEW.`follower_id`, `id` FROM `posts` WHERE `author_id` = NEW.`followee_id`;
END;
--> statement-breakpoint
-- One primary-key seek per post of the followee: no index on post_id is needed.
CREATE TRIGGER `timeline_follows_after_delete` AFTER DELETE ON `follows` BEGIN
	DELETE FROM `timeline_entries` WHERE `user_id` = OLD.`follower_id` AND `post_id` IN (
		SELECT `id` FROM `posts` WHERE `author_id` = OLD.`followee_id`);
END;

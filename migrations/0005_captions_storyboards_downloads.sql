CREATE TABLE `captions` (
	`video_id` text NOT NULL,
	`lang` text NOT NULL,
	`label` text NOT NULL,
	`kind` text DEFAULT 'subtitles' NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`video_id`, `lang`),
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `videos` ADD `storyboard` text;--> statement-breakpoint
ALTER TABLE `videos` ADD `poster_time` real;--> statement-breakpoint
ALTER TABLE `videos` ADD `downloadable` integer DEFAULT false NOT NULL;
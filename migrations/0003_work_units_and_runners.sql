CREATE TABLE `runners` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_contact_at` integer,
	`revoked_at` integer,
	`current_unit_id` text,
	`units_done` integer DEFAULT 0 NOT NULL,
	`units_failed` integer DEFAULT 0 NOT NULL,
	`encode_seconds` real DEFAULT 0 NOT NULL,
	`media_seconds` real DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `runners_token_hash` ON `runners` (`token_hash`);--> statement-breakpoint
CREATE INDEX `runners_kind` ON `runners` (`kind`,`last_contact_at`);--> statement-breakpoint
CREATE TABLE `work_units` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`video_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`kind` text NOT NULL,
	`sequence` integer DEFAULT 0 NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`runner_id` text,
	`lease_until` integer,
	`attempt` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`lease_expiries` integer DEFAULT 0 NOT NULL,
	`progress` integer DEFAULT 0 NOT NULL,
	`claimed_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`input` text DEFAULT '{}' NOT NULL,
	`result` text,
	`error_code` text,
	`error_message` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`runner_id`) REFERENCES `runners`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `work_units_job_kind_sequence` ON `work_units` (`job_id`,`kind`,`sequence`);--> statement-breakpoint
CREATE INDEX `work_units_status_order` ON `work_units` (`status`,`priority`,`created_at`);--> statement-breakpoint
CREATE INDEX `work_units_owner_status` ON `work_units` (`owner_id`,`status`);--> statement-breakpoint
CREATE INDEX `work_units_owner_claimed` ON `work_units` (`owner_id`,`claimed_at`);--> statement-breakpoint
CREATE INDEX `work_units_status_lease` ON `work_units` (`status`,`lease_until`);--> statement-breakpoint
CREATE INDEX `work_units_runner` ON `work_units` (`runner_id`,`status`);--> statement-breakpoint
CREATE INDEX `work_units_video` ON `work_units` (`video_id`);--> statement-breakpoint
DROP INDEX `jobs_status`;--> statement-breakpoint
DROP INDEX `jobs_one_active_per_video`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `max_height` integer DEFAULT 1080 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `priority` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `finished_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_status` ON `jobs` (`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_one_active_per_video` ON `jobs` (`video_id`) WHERE "jobs"."status" in ('queued', 'running');--> statement-breakpoint
ALTER TABLE `jobs` DROP COLUMN `attempts`;--> statement-breakpoint
ALTER TABLE `jobs` DROP COLUMN `lease_until`;--> statement-breakpoint
ALTER TABLE `jobs` DROP COLUMN `last_event_at`;
DROP INDEX `jobs_status`;--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_one_active_per_video` ON `jobs` (`video_id`) WHERE "jobs"."status" in ('queued', 'dispatched', 'running');--> statement-breakpoint
CREATE INDEX `jobs_status` ON `jobs` (`status`,`lease_until`);
-- Jobs that were unfinished when work units arrived wait again, each with one encode unit:
-- the transcoders they were pushed to report to routes that no longer exist.
UPDATE `jobs` SET `status` = 'queued' WHERE `status` IN ('dispatched', 'running');--> statement-breakpoint
UPDATE `jobs` SET `max_height` = coalesce((SELECT `max_resolution` FROM `videos` WHERE `videos`.`id` = `jobs`.`video_id`), 1080) WHERE `status` = 'queued';--> statement-breakpoint
INSERT INTO `work_units` (`id`, `job_id`, `video_id`, `owner_id`, `kind`, `sequence`, `status`)
  SELECT lower(hex(randomblob(16))), `jobs`.`id`, `jobs`.`video_id`, `videos`.`owner_id`, 'encode', 0, 'pending'
  FROM `jobs` JOIN `videos` ON `videos`.`id` = `jobs`.`video_id` WHERE `jobs`.`status` = 'queued';--> statement-breakpoint
UPDATE `videos` SET `status` = 'queued', `progress` = 0 WHERE `status` = 'processing' AND `version` IS NULL;

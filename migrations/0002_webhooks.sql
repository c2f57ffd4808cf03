ALTER TABLE `users` ADD `webhook_url` text;--> statement-breakpoint
ALTER TABLE `users` ADD `webhook_secret` text;
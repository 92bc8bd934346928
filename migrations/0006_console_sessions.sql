-- Written by hand. Console sessions (core/db/sessions.ts): one row per signed-in browser, keyed
-- by the SHA-256 of its cookie token (the token itself is never stored). A session made from an
-- API key names it (key_id) so that revoking the key deletes its sessions at once; expired rows
-- are deleted on use and by the scheduled job.
CREATE TABLE `console_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`principal` text NOT NULL,
	`key_id` text,
	`tenant` text,
	`subject` text,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `console_sessions_key` ON `console_sessions` (`key_id`);
--> statement-breakpoint
CREATE INDEX `console_sessions_expiry` ON `console_sessions` (`expires_at`);

-- Written by hand (drizzle-kit cannot express WITHOUT ROWID or a table rebuild).
-- 1. events is rebuilt WITHOUT ROWID with PRIMARY KEY (tenant, occurred_at, id): the table is its
--    own time index, so events_tenant_time goes and a stored event costs the same rows as before
--    once event_ids is added.
-- 2. event_ids (tenant, id) -> (seq, occurred_at, content_hash) is the id lookup that retention
--    never deletes: deduplication, reads by id and proofs go through it at any age. Rows of events
--    already in D1 are backfilled; their content_hash is NULL and is filled in from the stored copy
--    the first time the id is posted again.
-- 3. id_conflicts records each later post of a stored id with different content.
CREATE TABLE `events_rebuilt` (
	`tenant` text NOT NULL,
	`seq` integer NOT NULL,
	`id` text NOT NULL,
	`occurred_at` text NOT NULL,
	`received_at` text NOT NULL,
	`action` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`parent_type` text,
	`parent_id` text,
	`source` text,
	`outcome` text NOT NULL,
	`correlation_id` text,
	`ip` text,
	`hash` text NOT NULL,
	`body` text NOT NULL,
	PRIMARY KEY(`tenant`, `occurred_at`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `events_rebuilt` (`tenant`, `seq`, `id`, `occurred_at`, `received_at`, `action`, `actor_type`,
	`actor_id`, `target_type`, `target_id`, `parent_type`, `parent_id`, `source`, `outcome`, `correlation_id`,
	`ip`, `hash`, `body`)
SELECT `tenant`, `seq`, `id`, `occurred_at`, `received_at`, `action`, `actor_type`, `actor_id`, `target_type`,
	`target_id`, `parent_type`, `parent_id`, `source`, `outcome`, `correlation_id`, `ip`, `hash`, `body`
FROM `events`;
--> statement-breakpoint
CREATE TABLE `event_ids` (
	`tenant` text NOT NULL,
	`id` text NOT NULL,
	`seq` integer NOT NULL,
	`occurred_at` text NOT NULL,
	`content_hash` text,
	PRIMARY KEY(`tenant`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `event_ids` (`tenant`, `id`, `seq`, `occurred_at`, `content_hash`)
SELECT `tenant`, `id`, `seq`, `occurred_at`, NULL FROM `events`;
--> statement-breakpoint
DROP TABLE `events`;
--> statement-breakpoint
ALTER TABLE `events_rebuilt` RENAME TO `events`;
--> statement-breakpoint
CREATE INDEX `events_tenant_actor` ON `events` (`tenant`,`actor_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_target` ON `events` (`tenant`,`target_type`,`target_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_parent` ON `events` (`tenant`,`parent_type`,`parent_id`,`occurred_at`,`id`) WHERE "events"."parent_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_correlation` ON `events` (`tenant`,`correlation_id`,`occurred_at`,`id`) WHERE "events"."correlation_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_failed_ip` ON `events` (`tenant`,`ip`,`occurred_at`,`id`) WHERE "events"."outcome" = 'failure' AND "events"."ip" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `id_conflicts` (
	`tenant` text NOT NULL,
	`id` text NOT NULL,
	`request_id` text NOT NULL,
	`content_hash` text NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`tenant`, `id`, `request_id`, `content_hash`)
) WITHOUT ROWID;

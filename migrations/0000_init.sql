-- events is WITHOUT ROWID (added by hand to the generated DDL): its primary key (tenant, id)
-- is the table itself, so a stored event costs one row plus one per index, not two plus.
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`name` text,
	`scopes` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant`);--> statement-breakpoint
CREATE TABLE `archive_segments` (
	`tenant` text NOT NULL,
	`dt` text NOT NULL,
	`first_seq` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`object_key` text NOT NULL,
	`event_count` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` text NOT NULL,
	`written_at` text,
	PRIMARY KEY(`tenant`, `dt`, `first_seq`)
);
--> statement-breakpoint
CREATE INDEX `archive_segments_status` ON `archive_segments` (`status`,`tenant`);--> statement-breakpoint
CREATE TABLE `chain_guard` (
	`id` integer PRIMARY KEY NOT NULL,
	`applied` integer NOT NULL,
	CONSTRAINT "chain_guard_applied" CHECK("chain_guard"."applied" = 1)
);
--> statement-breakpoint
CREATE TABLE `chain_heads` (
	`tenant` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
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
	PRIMARY KEY(`tenant`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `events_tenant_time` ON `events` (`tenant`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_actor` ON `events` (`tenant`,`actor_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_target` ON `events` (`tenant`,`target_type`,`target_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_parent` ON `events` (`tenant`,`parent_type`,`parent_id`,`occurred_at`,`id`) WHERE "events"."parent_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_correlation` ON `events` (`tenant`,`correlation_id`,`occurred_at`,`id`) WHERE "events"."correlation_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_failed_ip` ON `events` (`tenant`,`ip`,`occurred_at`,`id`) WHERE "events"."outcome" = 'failure' AND "events"."ip" IS NOT NULL;
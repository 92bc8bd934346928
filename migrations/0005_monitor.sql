-- Written by hand. The integrity monitor (cron/monitor.ts): its alarms, and per tenant its
-- resumable sweep and the count of rows retention released (what D1 is expected to hold).
CREATE TABLE `alarms` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`kind` text NOT NULL,
	`seq` integer,
	`detail` text NOT NULL,
	`raised_at` text NOT NULL,
	`acknowledged_at` text,
	`acknowledged_by` text,
	`ack_note` text
);
--> statement-breakpoint
CREATE INDEX `alarms_tenant_time` ON `alarms` (`tenant`,`raised_at`);
--> statement-breakpoint
CREATE TABLE `monitor_state` (
	`tenant` text PRIMARY KEY NOT NULL,
	`released` integer DEFAULT 0 NOT NULL,
	`sweep` text,
	`sweeps` integer DEFAULT 0 NOT NULL,
	`last_sweep_at` text,
	`updated_at` text
);
--> statement-breakpoint
-- Rows already released by retention before this table existed: what the chain holds beyond D1.
INSERT INTO `monitor_state` (`tenant`, `released`)
SELECT h.`tenant`, h.`seq` - (SELECT count(*) FROM `events` e WHERE e.`tenant` = h.`tenant`) FROM `chain_heads` h;

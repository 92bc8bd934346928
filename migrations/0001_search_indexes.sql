CREATE INDEX `events_tenant_actor` ON `events` (`tenant`,`actor_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_target` ON `events` (`tenant`,`target_type`,`target_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_parent` ON `events` (`tenant`,`parent_type`,`parent_id`,`occurred_at`,`id`) WHERE "events"."parent_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_correlation` ON `events` (`tenant`,`correlation_id`,`occurred_at`,`id`) WHERE "events"."correlation_id" IS NOT NULL;
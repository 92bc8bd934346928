-- Written by hand. The shard map (core/db/shards.ts): which D1 database holds each tenant's chain
-- and rows. It is read only in the first database of D1_SHARDS (the directory, which also holds API
-- keys and console sessions); every shard gets the same schema, so any of them can become the
-- directory's copy. A tenant's row is written when its first event is stored and changes only when
-- an operator moves the tenant (moving_to, move_state, move_cursor, old_shard: the resumable move).
-- Tenants stored before shards existed are in this (the first) database: they are pinned to it.
CREATE TABLE `tenant_shards` (
	`tenant` text PRIMARY KEY NOT NULL,
	`shard` text NOT NULL,
	`moving_to` text,
	`move_state` text,
	`move_cursor` text,
	`old_shard` text,
	`assigned_at` text NOT NULL,
	`updated_at` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `tenant_shards` (`tenant`, `shard`, `assigned_at`, `updated_at`)
SELECT `tenant`, 'DB', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM `chain_heads`;

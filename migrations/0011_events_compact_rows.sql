-- Written by hand (drizzle-kit cannot express WITHOUT ROWID, generated columns over a rebuilt body
-- or a table rebuild). An events row now fits its b-tree leaf instead of spilling into an overflow
-- page of its own.
--
-- A WITHOUT ROWID table keeps at most 1,002 bytes of a row in its 4 KiB leaf page; a longer row
-- keeps 489 bytes there and moves the rest to an overflow page used by that row alone (about 3.5
-- KB of it empty for a row of 1,000-1,500 bytes). The row held the stored line plus a copy of
-- 14 of its fields (about 250 bytes, 82 of them a sealed IP, 64 a hex chain hash), so a typical
-- event spilled. The row now stores only what cannot be derived:
--   tenant, occurred_at, id   the primary key (the time index), as before;
--   chain                     the line's chain hash and previous hash, 32 + 32 bytes (the line
--                             holds them as 128 hex digits);
--   content                   the canonical content the leaf hash is computed over: the line's
--                             tail after its chain hashes, with its `{` (core/integrity/chain.ts).
-- Every other column is a VIRTUAL generated column: computed when read and stored only in the
-- indexes that use it. `body` is the stored line rebuilt byte for byte from chain and content
-- (the archive, the chain and every hash read the same bytes as before); the copies of fields
-- are read from content. A line not in the chained layout (stored before it; any key order) is
-- kept whole in content with chain NULL, and body is then content itself.
--
-- Columns can no longer disagree with the body: an index entry is computed from the stored content
-- on every write. The rows written per event are unchanged (the row and one per index it enters).
CREATE TABLE `events_rebuilt` (
	`tenant` text NOT NULL,
	`occurred_at` text NOT NULL,
	`id` text NOT NULL,
	`chain` blob,
	`content` text NOT NULL,
	`body` text NOT NULL GENERATED ALWAYS AS (iif(`chain` IS NULL, `content`, '{"hash":"' || lower(hex(substr(`chain`, 1, 32))) || '","prev_hash":"' || lower(hex(substr(`chain`, 33, 32))) || '",' || substr(`content`, 2))) VIRTUAL,
	`hash` text NOT NULL GENERATED ALWAYS AS (iif(`chain` IS NULL, json_extract(`content`, '$.hash'), lower(hex(substr(`chain`, 1, 32))))) VIRTUAL,
	`seq` integer NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.seq')) VIRTUAL,
	`received_at` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.received_at')) VIRTUAL,
	`action` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.action')) VIRTUAL,
	`actor_type` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.actor.type')) VIRTUAL,
	`actor_id` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.actor.id')) VIRTUAL,
	`target_type` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.target.type')) VIRTUAL,
	`target_id` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.target.id')) VIRTUAL,
	`parent_type` text GENERATED ALWAYS AS (json_extract(`content`, '$.parent.type')) VIRTUAL,
	`parent_id` text GENERATED ALWAYS AS (json_extract(`content`, '$.parent.id')) VIRTUAL,
	`source` text GENERATED ALWAYS AS (json_extract(`content`, '$.source')) VIRTUAL,
	`outcome` text NOT NULL GENERATED ALWAYS AS (json_extract(`content`, '$.outcome.status')) VIRTUAL,
	`correlation_id` text GENERATED ALWAYS AS (json_extract(`content`, '$.context.correlation_id')) VIRTUAL,
	`ip` text GENERATED ALWAYS AS (json_extract(`content`, '$.context.ip')) VIRTUAL,
	PRIMARY KEY(`tenant`, `occurred_at`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Rows keep their key; chain and content are cut from the stored line exactly as new rows are
-- (core/db/events.ts, INSERT_EVENTS_SQL): the chained layout is `{"hash":"<64 hex>","prev_hash":"<64 hex>",`
-- followed by the content's members.
INSERT INTO `events_rebuilt` (`tenant`, `occurred_at`, `id`, `chain`, `content`)
SELECT `tenant`, `occurred_at`, `id`,
	iif(`chained`, unhex(substr(`body`, 10, 64) || substr(`body`, 89, 64)), NULL),
	iif(`chained`, '{' || substr(`body`, 155), `body`)
FROM (
	SELECT `tenant`, `occurred_at`, `id`, `body`,
		substr(`body`, 1, 9) = '{"hash":"' AND substr(`body`, 74, 15) = '","prev_hash":"'
			AND substr(`body`, 153, 2) = '",' AND length(`body`) >= 155
			AND (substr(`body`, 10, 64) || substr(`body`, 89, 64)) NOT GLOB '*[^0-9a-f]*' AS `chained`
	FROM `events`
);
--> statement-breakpoint
DROP TABLE `events`;
--> statement-breakpoint
ALTER TABLE `events_rebuilt` RENAME TO `events`;
--> statement-breakpoint
CREATE INDEX `events_tenant_actor` ON `events` (`tenant`,`actor_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_target` ON `events` (`tenant`,`target_type`,`target_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_parent` ON `events` (`tenant`,`parent_type`,`parent_id`,`occurred_at`,`id`) WHERE "events"."parent_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_correlation` ON `events` (`tenant`,`correlation_id`,`occurred_at`,`id`) WHERE "events"."correlation_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_tenant_failed_ip` ON `events` (`tenant`,`ip`,`occurred_at`,`id`) WHERE "events"."outcome" = 'failure' AND "events"."ip" IS NOT NULL;

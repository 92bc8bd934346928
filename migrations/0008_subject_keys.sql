-- Written by hand (drizzle-kit cannot express WITHOUT ROWID). Per-subject data keys of the PII
-- policy (core/privacy/, core/db/subject-keys.ts): one row per data key of a tenant's subject (the
-- events' actor.id), the key wrapped by the tenant's wrapping key (`wrapped_by` names the PII_KEYS
-- entry). Erasure deletes the wrapped key and keeps the row: erased_at, erased_by. At most one
-- unerased key per subject (the partial unique index), so concurrent first events of a subject
-- converge on one key (INSERT OR IGNORE, then read back).
CREATE TABLE `subject_keys` (
	`tenant` text NOT NULL,
	`subject` text NOT NULL,
	`key_id` text NOT NULL,
	`wrapped_key` text,
	`wrapped_by` text,
	`created_at` text NOT NULL,
	`erased_at` text,
	`erased_by` text,
	PRIMARY KEY(`tenant`, `subject`, `key_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE UNIQUE INDEX `subject_keys_active` ON `subject_keys` (`tenant`, `subject`) WHERE `erased_at` IS NULL;

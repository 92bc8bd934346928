-- Written by hand. Tombstones of expired events (core/retention/tombstone.ts): when an event's
-- retention class period ends its body leaves D1, R2 and the S3 mirror, and this row keeps its
-- place in the chain (seq, class, leaf and chain hashes, day), so reads by id answer 410 with it
-- and every proof still verifies. event_ids keeps the id (a re-post stays a duplicate).
CREATE TABLE `tombstones` (
	`tenant` text NOT NULL,
	`seq` integer NOT NULL,
	`retention` text NOT NULL,
	`leaf` text NOT NULL,
	`hash` text NOT NULL,
	`prev_hash` text NOT NULL,
	`dt` text NOT NULL,
	`expired_at` text NOT NULL,
	PRIMARY KEY (`tenant`, `seq`)
) WITHOUT ROWID;

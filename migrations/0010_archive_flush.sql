-- Written by hand. Archive flushes by size and age (core/archive/segment-writer.ts): each outbox
-- row records the bytes of its events' lines, so a tenant's pending segments of a day are written
-- as one object once they reach ARCHIVE_FLUSH_BYTES. Rows from before count 0 bytes (they are
-- written by age). A segment being written has status 'closing' and its object's key.
ALTER TABLE `archive_segments` ADD COLUMN `bytes` integer NOT NULL DEFAULT 0;

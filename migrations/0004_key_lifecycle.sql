-- Key lifecycle: who minted a key, when it expires, who revoked it, and the revocation's
-- audit event kept with the row until it is on record (see core/keys/api-keys.ts).
ALTER TABLE `api_keys` ADD `created_by` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `expires_at` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `revoked_by` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `revocation_event` text;

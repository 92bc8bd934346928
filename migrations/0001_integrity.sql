CREATE TABLE `chain_leaves` (
	`tenant` text NOT NULL,
	`first_seq` integer NOT NULL,
	`leaves` text NOT NULL,
	PRIMARY KEY(`tenant`, `first_seq`)
);
--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`tenant` text NOT NULL,
	`issued_at` text NOT NULL,
	`seq` integer NOT NULL,
	`body` text NOT NULL,
	PRIMARY KEY(`tenant`, `issued_at`)
);
--> statement-breakpoint
ALTER TABLE `chain_heads` ADD `frontier` text DEFAULT '[]' NOT NULL;
// Platform and product limits in one place, so the ingest path, the queue packer and the
// tests agree on the same numbers.
import { z } from 'zod'
export const LIMITS = {
  /** Largest request body accepted by POST /v1/events. */
  maxBodyBytes: 2 * 1024 * 1024,
  /** Events in one request. */
  maxEventsPerRequest: 1000,
  /** One event, serialized. Keeps a single event far below a queue message. */
  maxEventBytes: 32 * 1024,
  /** Cloudflare Queues: one message. Kept under 128 KB with headroom for the envelope. */
  maxMessageBytes: 120 * 1024,
  /** Cloudflare Queues: sendBatch. */
  maxMessagesPerSend: 100,
  maxBytesPerSend: 250 * 1024,
  /** How far ahead of the receive time occurred_at may be (clock skew allowance). */
  maxFutureSkewMs: 5 * 60 * 1000,
  metadataMaxKeys: 50,
  metadataMaxKeyLength: 64,
  metadataMaxValueLength: 1024,
  maxChanges: 100,
  /**
   * Nesting of a free-form value: a change's before/after, or a structured value a foreign
   * format keeps in metadata as JSON text (a scalar is 0 levels, `{"a": 1}` is 1).
   */
  maxDepth: 8,
  /**
   * Nesting of a whole request body, checked before anything else reads it: the deepest
   * envelope (a CloudEvents batch of EventBridge entities puts a change value 7 levels down)
   * plus maxDepth, with a level to spare.
   */
  maxBodyDepth: 16,
  /** Largest body of POST /v1/keys. */
  maxKeysBodyBytes: 16 * 1024,
  /** Items in one page of a list (events, checkpoints, dead letters), and the default. */
  pageMax: 1000,
  pageDefault: 100,
  /** D1 caps bound parameters per statement. */
  d1MaxParams: 100,
} as const

/**
 * The events queue's retry count: wrangler.toml's `max_retries` for "audit-events" states the
 * same number (test/unit/config.test.ts reads the config and checks). The consumer parks a
 * message with its last error on that attempt, before the platform would move it without one.
 */
export const EVENTS_QUEUE_MAX_RETRIES = 5

/** `?limit=` of a list route: 1..LIMITS.pageMax, LIMITS.pageDefault when absent. */
export const pageLimitSchema = z.coerce.number().int().min(1).max(LIMITS.pageMax).default(LIMITS.pageDefault)

// The client's public types. Event shapes come from the service's own schemas, as types only:
// nothing here is loaded at run time.
import type { z } from 'zod'
import type { EventInput } from '../core/ingest/event-schema'
import type { ApiEvent } from '../core/ingest/stored-event'
import type { PublicKeyDocument } from '../core/integrity/checkpoint'
import type { searchFilterShape } from '../core/search/filters'
import type { ProofResult, proofDocumentSchema } from '../verifier/check-proof'
import type { AuditLogError } from './errors'

/** Event v1 as a client sends it (docs/ingest.md). `id` is assigned by the client when absent. */
export type AuditEventInput = EventInput

/** A stored event as GET /v1/events and GET /v1/events/:id return it. */
export type AuditEvent = ApiEvent

/** GET /v1/events/:id: the stored event, and `conflicts` when later posts of its id differed. */
export type AuditEventRead = ApiEvent & { conflicts?: { count: number; last_at: string } }

/** The document GET /v1/events/:id/proof returns (the receipt). */
export type ProofDocument = z.input<typeof proofDocumentSchema>

/** The published signing keys, GET /.well-known/audit-log-keys. */
export type SigningKeys = PublicKeyDocument

/** What verifyReceipt answers: `ok` with the proven position, or the first problem found. */
export type ReceiptResult = ProofResult

type FilterInput = z.input<z.ZodObject<typeof searchFilterShape>>

/**
 * The filters of GET /v1/events and GET /v1/export (core/search/filters.ts). Flags take booleans;
 * `since` and `until` take a Date or RFC 3339 text.
 */
export type SearchFilters = Omit<
  FilterInput,
  'include_children' | 'include_audit_reads' | 'since' | 'until'
> & {
  include_children?: boolean
  include_audit_reads?: boolean
  since?: string | Date
  until?: string | Date
}

/** Filters plus paging: `limit` is the page size (1-1000), `cursor` resumes a previous search. */
export type SearchOptions = SearchFilters & { limit?: number; cursor?: string }

/** One page of GET /v1/events. */
export type EventPage = { data: AuditEvent[]; next_cursor: string | null }

export type ExportFormat = 'ndjson' | 'csv'

export type ExportOptions = SearchFilters & { format?: ExportFormat }

/** application/problem+json as the service answers errors (DESIGN.md, HTTP API). */
export type Problem = {
  type: string
  title: string
  status: number
  detail: string
  request_id?: string
  errors?: { path: string; message: string }[]
  [extra: string]: unknown
}

/** The fetch the client calls: the global one by default; any function of this shape will do. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export type BatchOptions = {
  /** Events per POST, at most 1000 (default 500). */
  maxEvents?: number
  /** Bytes per POST body, envelope included, at most 2 MiB (default 1 MiB). */
  maxBytes?: number
  /** Longest an event waits in the buffer before its batch is sent (default 1000 ms). */
  maxWaitMs?: number
  /** POSTs in flight at once (default 4). */
  concurrency?: number
}

export type RetryOptions = {
  /** Tries per request, the first included (default 8). */
  maxAttempts?: number
  /** Backoff before the second try; doubles with each further one (default 250 ms). */
  baseDelayMs?: number
  /** Ceiling of the backoff (default 30 000 ms). A Retry-After from the service is honoured as given. */
  maxDelayMs?: number
}

export type BufferOptions = {
  /** Events waiting to be sent, not counting those in a request (default 10 000). */
  maxEvents?: number
  /**
   * When full: `reject` refuses the new send (its promise rejects with kind `buffer_full`,
   * nothing of it is buffered); `drop-oldest` makes room by dropping the oldest waiting events
   * (their send promises reject with kind `dropped`). Default `reject`.
   */
  overflow?: 'reject' | 'drop-oldest'
}

export type AuditLogClientOptions = {
  /** Base URL of the service, e.g. https://audit.example.com */
  url: string
  /** API key (`alk_...`); events:write to send, events:read to read. */
  key: string
  fetch?: FetchLike
  batch?: BatchOptions
  retry?: RetryOptions
  buffer?: BufferOptions
  /** Called once for each failure of events in the background (a batch refused, events dropped). */
  onError?: (error: AuditLogError) => void
}

/** What a send resolves with once the service has accepted every one of its events. */
export type SendResult = { ids: string[] }

/** What flush and close resolve with: how many of the events they waited for were accepted (all of them). */
export type FlushResult = { accepted: number }

// The service's request limits the client plans its batches around. They are the numbers of
// core/limits.ts, kept here as plain constants so the client carries no schema library at run
// time; test/unit/sdk-limits.test.ts checks that the two agree.
export const SERVER_LIMITS = {
  /** Largest body POST /v1/events accepts (413 above it). */
  maxBodyBytes: 2 * 1024 * 1024,
  /** Events in one POST /v1/events. */
  maxEventsPerRequest: 1000,
  /** One event, serialized. */
  maxEventBytes: 32 * 1024,
  /** Items in one page of GET /v1/events. */
  pageMax: 1000,
} as const

declare namespace Cloudflare {
  interface Env {
    DB: D1Database
    ARCHIVE: R2Bucket
    EVENTS_QUEUE: Queue<unknown>
    DEAD_LETTER_QUEUE: Queue<unknown>
    ADMIN_TOKEN?: string
    HOT_RETENTION_DAYS?: string
    SIGNING_KEYS?: string
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
  }
}

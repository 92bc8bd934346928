// The one Worker: the HTTP API (`fetch`, worker/), the queue consumers (`queue`, queue-consumer/)
// and the cron jobs (`scheduled`, cron/), all over the shared domain in core/.
import type { Env } from './core/env'
import { runScheduledJobs } from './cron'
import { handleQueueBatch } from './queue-consumer'
import { app } from './worker/app'

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env))
  },
} satisfies ExportedHandler<Env>

// The one Worker: HTTP API (`fetch`), queue consumers (`queue`) and cron jobs (`scheduled`).
import type { Env } from '../core/env'
import { issueAllCheckpoints } from '../queue-consumer/checkpoints'
import { handleDeadLetterBatch } from '../queue-consumer/dead-letter'
import { handleEventBatch } from '../queue-consumer/event-batch'
import { app } from './app'

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.endsWith('-dlq')) await handleDeadLetterBatch(batch, env)
    else await handleEventBatch(batch, env)
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(issueAllCheckpoints(env))
  },
} satisfies ExportedHandler<Env>

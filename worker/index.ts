// The one Worker: HTTP API (`fetch`), queue consumers (`queue`) and cron jobs (`scheduled`).
import { compactClosedDays } from '../core/archive/compaction'
import { reconcileMirror } from '../core/archive/mirror'
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
    // Checkpoints and compaction first, so the mirror run that follows carries their results.
    ctx.waitUntil(
      issueAllCheckpoints(env)
        .then(() => compactClosedDays(env.ARCHIVE))
        .then(() => reconcileMirror(env)),
    )
  },
} satisfies ExportedHandler<Env>

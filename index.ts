// The one Worker: HTTP API (`fetch`), queue consumers (`queue`) and cron jobs (`scheduled`).
import { compactClosedDays } from './core/archive/compaction-sweep'
import { reconcileMirror } from './core/archive/mirror'
import { database } from './core/db/client'
import type { Env } from './core/env'
import { historyOptions } from './core/search/history-options'
import { enforceRetention } from './cron/retention'
import { runCronJobs } from './cron/run-jobs'
import { handleArchiveNotifications } from './queue-consumer/archive-notifications'
import { issueAllCheckpoints } from './queue-consumer/checkpoints'
import { handleDeadLetterBatch } from './queue-consumer/dead-letter'
import { handleEventBatch } from './queue-consumer/event-batch'
import { app } from './worker/app'

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.endsWith('-dlq')) await handleDeadLetterBatch(batch, env)
    else if (batch.queue.endsWith('-archive-notifications')) await handleArchiveNotifications(batch, env)
    else await handleEventBatch(batch, env)
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      runCronJobs([
        ['checkpoints', () => issueAllCheckpoints(env)],
        ['compaction', () => compactClosedDays(env.ARCHIVE)],
        ['mirror', () => reconcileMirror(env)],
        ['retention', () => enforceRetention(database(env.DB), env, historyOptions(env).cutoff)],
      ]),
    )
  },
} satisfies ExportedHandler<Env>

// The cron tick (`scheduled`): its jobs in a fixed order (cron/run-jobs.ts says why).
import { compactClosedDays } from '../core/archive/compaction-sweep'
import { reconcileMirror } from '../core/archive/mirror'
import { flushArchive, flushPolicy, tenantsWithUnwritten } from '../core/archive/segment-writer'
import { database } from '../core/db/client'
import { purgeExpiredSessions } from '../core/db/sessions'
import { forEachShard, tenantDbs } from '../core/db/shards'
import type { Env } from '../core/env'
import { historyOptions } from '../core/search/history-options'
import { issueAllCheckpoints } from './checkpoints'
import { expireRetentionClasses } from './class-expiry'
import { backfillEventIds } from './event-ids-backfill'
import { runMonitor } from './monitor'
import { enforceRetention } from './retention'
import { runCronJobs } from './run-jobs'

async function flushOverdue(env: Env) {
  const policy = flushPolicy(env)
  let objects = 0
  await forEachShard(env, async ({ db }, owns) => {
    for (const tenant of await tenantsWithUnwritten(db))
      if (owns(tenant)) objects += (await flushArchive(db, env.ARCHIVE, tenant, policy)).objects
  })
  return { objects }
}

export function runScheduledJobs(env: Env) {
  return runCronJobs([
    // First: segments past their flush age (the delayed flush message is the first line of that).
    ['archive flush', () => flushOverdue(env)],
    ['checkpoints', () => issueAllCheckpoints(env)],
    ['monitor', () => runMonitor(env)],
    ['compaction', () => compactClosedDays(env.ARCHIVE)],
    ['mirror', () => reconcileMirror(env)],
    ['class expiry', async () => expireRetentionClasses(await tenantDbs(env), env)],
    ['event-ids backfill', async () => backfillEventIds(await tenantDbs(env), env.ARCHIVE)],
    [
      'retention',
      () =>
        forEachShard(env, ({ db }, owns) => enforceRetention(db, env, historyOptions(env).cutoff, 50, owns)),
    ],
    // Console sessions past their expiry (a session is refused on use once expired anyway).
    ['expired sessions', () => purgeExpiredSessions(database(env.DB))],
  ])
}

// The cron tick (`scheduled`): its jobs in a fixed order (cron/run-jobs.ts says why).
import { compactClosedDays } from '../core/archive/compaction-sweep'
import { reconcileMirror } from '../core/archive/mirror'
import { database } from '../core/db/client'
import { purgeExpiredSessions } from '../core/db/sessions'
import type { Env } from '../core/env'
import { historyOptions } from '../core/search/history-options'
import { issueAllCheckpoints } from './checkpoints'
import { expireRetentionClasses } from './class-expiry'
import { backfillEventIds } from './event-ids-backfill'
import { runMonitor } from './monitor'
import { enforceRetention } from './retention'
import { runCronJobs } from './run-jobs'

export function runScheduledJobs(env: Env) {
  return runCronJobs([
    ['checkpoints', () => issueAllCheckpoints(env)],
    ['monitor', () => runMonitor(env)],
    ['compaction', () => compactClosedDays(env.ARCHIVE)],
    ['mirror', () => reconcileMirror(env)],
    ['class expiry', () => expireRetentionClasses(database(env.DB), env)],
    ['event-ids backfill', () => backfillEventIds(database(env.DB), env.ARCHIVE)],
    ['retention', () => enforceRetention(database(env.DB), env, historyOptions(env).cutoff)],
    // Console sessions past their expiry (a session is refused on use once expired anyway).
    ['expired sessions', () => purgeExpiredSessions(database(env.DB))],
  ])
}

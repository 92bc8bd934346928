import { type Env, settings } from '../env'
import type { HistoryOptions } from './history'

/** Where the hot window (D1) ends and the archive (R2) takes over, for this request. */
export function historyOptions(env: Env): HistoryOptions {
  const days = settings(env).hotRetentionDays
  return { cutoff: new Date(Date.now() - days * 86_400_000).toISOString(), maxArchiveDays: 31 }
}

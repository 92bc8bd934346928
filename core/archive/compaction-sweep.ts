// Finds closed partitions worth compacting by walking events/ from a cursor kept in R2
// (`compaction-state/`, core/archive/layout.ts), a bounded number of listing pages per run, so the cron's cost does not
// grow with the archive's age; a finished sweep starts over, which picks up late events too.
// Closed: dt older than today (UTC) minus `graceDays`.

import {
  type CompactOptions,
  classMergeGroups,
  compactPartition,
  DEFAULT_TARGET_BYTES,
  type Listed,
} from './compaction'
import {
  ARCHIVE_PREFIX,
  COMPACTION_STATE_KEY,
  type Manifest,
  parseArchiveKey,
  partitionPrefix,
} from './layout'
import { readJson } from './r2'

type SweepState = { after: string; sweeps: number; last_sweep_at: string | null }

export type SweepOptions = CompactOptions & {
  graceDays?: number
  maxPartitions?: number
  maxPages?: number
  pageSize?: number
  now?: Date
}

async function loadState(bucket: R2Bucket): Promise<SweepState> {
  return (
    (await readJson<SweepState>(bucket, COMPACTION_STATE_KEY)) ?? {
      after: '',
      sweeps: 0,
      last_sweep_at: null,
    }
  )
}

/**
 * Compacts closed partitions with small files to merge, at most `maxPartitions` per run. A
 * partition that fails (an unreadable object, say) is reported and skipped, so it cannot hold
 * back the partitions after it.
 */
export async function compactClosedDays(bucket: R2Bucket, o: SweepOptions = {}) {
  const now = (o.now ?? new Date()).getTime()
  const closedBefore = new Date(now - (o.graceDays ?? 1) * 86_400_000).toISOString().slice(0, 10)
  const maxPartitions = o.maxPartitions ?? 50
  const maxPages = o.maxPages ?? 20
  const targetBytes = o.targetBytes ?? DEFAULT_TARGET_BYTES
  const state = await loadState(bucket)
  const manifests: Manifest[] = []
  const failed: { tenant: string; dt: string; error: string }[] = []
  let pages = 0
  let sweepFinished = false
  // Objects of the partition being read; a partition can span listing pages.
  let current: { prefix: string; tenant: string; dt: string; files: Listed[] } | null = null

  const finish = async (p: NonNullable<typeof current>) => {
    if (p.dt < closedBefore && classMergeGroups(p.files, targetBytes).length > 0) {
      try {
        const m = await compactPartition(bucket, p.tenant, p.dt, { targetBytes })
        if (m) manifests.push(m)
      } catch (err) {
        failed.push({ tenant: p.tenant, dt: p.dt, error: err instanceof Error ? err.message : String(err) })
      }
    }
    // Resume after this partition's last possible key.
    state.after = `${p.prefix}\uffff`
  }

  while (pages < maxPages && manifests.length + failed.length < maxPartitions) {
    const page = await bucket.list({
      prefix: ARCHIVE_PREFIX,
      ...(state.after ? { startAfter: state.after } : {}),
      limit: o.pageSize ?? 1000,
    })
    pages++
    for (const obj of page.objects) {
      const k = parseArchiveKey(obj.key)
      if (!k) continue
      const prefix = partitionPrefix(k.tenant, k.dt)
      if (current && current.prefix !== prefix) {
        await finish(current)
        current = null
        if (manifests.length + failed.length >= maxPartitions) break
      }
      current ??= { prefix, tenant: k.tenant, dt: k.dt, files: [] }
      current.files.push({ key: obj.key, size: obj.size })
    }
    if (manifests.length + failed.length >= maxPartitions) break
    if (!page.truncated) {
      if (current) await finish(current)
      current = null
      state.after = ''
      state.sweeps++
      state.last_sweep_at = new Date(now).toISOString()
      sweepFinished = true
      break
    }
  }
  // A partition cut off by the page budget: compactPartition lists it in full itself, so it is
  // handled now rather than re-read from its start forever when it spans more pages than a run.
  if (current && manifests.length + failed.length < maxPartitions) await finish(current)
  await bucket.put(COMPACTION_STATE_KEY, JSON.stringify(state), {
    httpMetadata: { contentType: 'application/json' },
  })
  return { manifests, failed, pages, sweep_finished: sweepFinished }
}

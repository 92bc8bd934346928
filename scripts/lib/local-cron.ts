// The scheduled handler under `npm start`, on the deployed schedule: wrangler dev serves
// /__scheduled (--test-scheduled) but never fires the cron by itself, so a timer here calls it at
// each due time of every `[triggers] crons` expression in wrangler.toml. Checkpoints, the
// integrity monitor, compaction, the mirror and retention then run locally as they do deployed.
//
// LOCAL_CRON replaces the schedule's timing (5 fields, or 6 with seconds first, for tests:
// LOCAL_CRON="*/2 * * * * *"); each tick still passes the configured expressions as `cron`, as
// Cloudflare does. LOCAL_CRON=off turns the timer off.
import { Cron } from 'croner'
import { unstable_readConfig } from 'wrangler'

/** The `[triggers] crons` of a wrangler config, as wrangler itself reads them. */
export function configuredCrons(configPath = 'wrangler.toml'): string[] {
  return unstable_readConfig({ config: configPath }).triggers?.crons ?? []
}

export type LocalSchedule = {
  /** When ticks are due (the configured expression, or LOCAL_CRON). */
  schedule: string
  /** What each tick passes as `?cron=`: the configured expression. */
  cron: string
}

/** The local schedules: one per configured cron, or none when LOCAL_CRON is "off". */
export function localSchedules(crons: string[], override = process.env.LOCAL_CRON): LocalSchedule[] {
  if (override?.trim().toLowerCase() === 'off') return []
  const schedule = override?.trim()
  return crons.map((cron) => ({ schedule: schedule || cron, cron }))
}

/**
 * Cloudflare's cron dialect: five fields, UTC, Quartz day-of-week numbering (1 = Sunday), L, W
 * and #. A six-field pattern (seconds first) is accepted for a faster local schedule.
 */
export function parseSchedule(schedule: string): Cron {
  return new Cron(schedule, {
    paused: true,
    timezone: 'Etc/UTC',
    mode: '5-or-6-parts',
    alternativeWeekdays: true,
  })
}

export type LocalCronOptions = {
  /** The Worker, e.g. http://127.0.0.1:8787. */
  url: string
  schedules: LocalSchedule[]
  log?: (line: string) => void
  /** Bound on one tick's call (default 10 minutes). */
  timeoutMs?: number
}

export type LocalCron = {
  /** Ticks that got a 2xx answer, and the others. */
  readonly ticks: { ok: number; failed: number }
  stop(): void
}

/**
 * Starts one timer per schedule. A tick that is still running when the next one is due skips that
 * one (logged), so a slow job never piles up calls.
 */
export function startLocalCron({
  url,
  schedules,
  log = (l) => console.log(l),
  timeoutMs = 600_000,
}: LocalCronOptions): LocalCron {
  const ticks = { ok: 0, failed: 0 }
  const jobs: Cron[] = []
  for (const { schedule, cron } of schedules) {
    parseSchedule(schedule) // throws on a malformed expression before anything starts
    const path = `/__scheduled?cron=${encodeURIComponent(cron)}`
    const job = new Cron(
      schedule,
      {
        timezone: 'Etc/UTC',
        mode: '5-or-6-parts',
        alternativeWeekdays: true,
        protect: () => log(`[local-cron] tick skipped: the previous ${cron} tick is still running`),
        unref: true,
      },
      async () => {
        const started = Date.now()
        try {
          const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
          await res.arrayBuffer()
          if (res.ok) ticks.ok++
          else ticks.failed++
          log(`[local-cron] GET ${path} -> ${res.status} in ${Date.now() - started} ms; next ${nextOf(job)}`)
        } catch (err) {
          ticks.failed++
          const reason =
            err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : err
          log(`[local-cron] GET ${path} failed: ${reason}; next ${nextOf(job)}`)
        }
      },
    )
    jobs.push(job)
    const source = schedule === cron ? 'wrangler.toml [triggers] crons' : 'LOCAL_CRON'
    log(`[local-cron] scheduled handler on "${schedule}" (${source}, UTC); first tick ${nextOf(job)}`)
  }
  return {
    ticks,
    stop() {
      for (const j of jobs) j.stop()
    },
  }
}

function nextOf(job: Cron): string {
  return job.nextRun()?.toISOString() ?? 'never'
}

/** The D1 bindings of the config: the tenant shards, each migrated by `npm start` and the benches. */
export function configuredD1Bindings(configPath = 'wrangler.toml'): string[] {
  return (unstable_readConfig({ config: configPath }).d1_databases ?? []).map(
    (d: { binding: string }) => d.binding,
  )
}

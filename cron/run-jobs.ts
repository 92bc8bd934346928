// The cron tick's jobs run in a fixed order (checkpoints and compaction before the mirror, so
// the mirror carries their results; class expiry after the mirror, whose S3 copies it deletes;
// retention last, since it waits for the mirror), but each
// runs whatever the ones before it did: a failing job must not stop the others for good.
export type CronJob = readonly [name: string, run: () => Promise<unknown>]
export type CronReport = { job: string; ok: boolean; result?: unknown; error?: string }[]

export async function runCronJobs(jobs: readonly CronJob[]): Promise<CronReport> {
  const report: CronReport = []
  for (const [job, run] of jobs) {
    try {
      report.push({ job, ok: true, result: await run() })
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      console.error(JSON.stringify({ msg: 'cron job failed', job, error }))
      report.push({ job, ok: false, error })
    }
  }
  return report
}

import { describe, expect, it, vi } from 'vitest'
import { runCronJobs } from '../../../cron/run-jobs'

describe('cron tick', () => {
  it('runs every job in order even when one before it fails, and reports which failed', async () => {
    const ran: string[] = []
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    const report = await runCronJobs([
      ['checkpoints', async () => ran.push('checkpoints')],
      [
        'compaction',
        async () => {
          throw new Error('R2 unavailable')
        },
      ],
      ['mirror', async () => ran.push('mirror')],
      ['retention', async () => ran.push('retention')],
    ])
    log.mockRestore()
    expect(ran).toEqual(['checkpoints', 'mirror', 'retention'])
    expect(report.map((r) => [r.job, r.ok])).toEqual([
      ['checkpoints', true],
      ['compaction', false],
      ['mirror', true],
      ['retention', true],
    ])
    expect(report[1]!.error).toBe('R2 unavailable')
  })
})

// The local cron: the Worker under wrangler dev, the start script's scheduler on a fast schedule
// (LOCAL_CRON, seconds), and a checkpoint that appears without anyone calling /__scheduled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintKey, startWorker, type WorkerServer } from '../../bench/lib/worker-server'
import {
  configuredCrons,
  type LocalCron,
  localSchedules,
  parseSchedule,
  startLocalCron,
} from '../../scripts/lib/local-cron'

const TENANT = 'e2e-local-cron'
let worker: WorkerServer
let cron: LocalCron | undefined
const cronLog: string[] = []

beforeAll(async () => {
  worker = await startWorker('e2e-local-cron')
})

afterAll(async () => {
  cron?.stop()
  await worker?.stop()
})

describe('local cron', () => {
  it("defaults to exactly wrangler.toml's [triggers] crons", () => {
    const crons = configuredCrons('wrangler.toml')
    expect(crons).toEqual(['*/5 * * * *'])
    expect(localSchedules(crons, undefined)).toEqual([{ schedule: '*/5 * * * *', cron: '*/5 * * * *' }])
    expect(localSchedules(crons, '*/1 * * * * *')).toEqual([
      { schedule: '*/1 * * * * *', cron: '*/5 * * * *' },
    ])
    expect(localSchedules(crons, 'off')).toEqual([])
    // Cloudflare's dialect: UTC, 1 = Sunday.
    const sunday5pm = parseSchedule('0 17 * * 1').nextRun(new Date('2026-01-01T00:00:00Z'))
    expect(sunday5pm?.toISOString()).toBe('2026-01-04T17:00:00.000Z')
    const every5 = parseSchedule('*/5 * * * *').nextRun(new Date('2026-01-01T00:03:10Z'))
    expect(every5?.toISOString()).toBe('2026-01-01T00:05:00.000Z')
  })

  it('runs the scheduled handler on its schedule: a posted event gets a signed checkpoint', async () => {
    const key = await mintKey(worker.url, TENANT)
    const auth = { authorization: `Bearer ${key}` }
    const post = await fetch(`${worker.url}/v1/events`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'cron-1',
        occurred_at: new Date().toISOString(),
        action: 'user.login',
        actor: { type: 'user', id: 'u_1' },
        target: { type: 'session', id: 's_1' },
      }),
    })
    expect(post.status).toBe(202)
    // Stored first (the queue delivers within a second or two), so the next tick has a head to sign.
    const stored = Date.now() + 30_000
    while ((await fetch(`${worker.url}/v1/events/cron-1`, { headers: auth })).status !== 200) {
      expect(Date.now(), 'the event was not stored within 30 s').toBeLessThan(stored)
      await new Promise((r) => setTimeout(r, 200))
    }
    const before = (await (
      await fetch(`${worker.url}/v1/integrity/checkpoints`, { headers: auth })
    ).json()) as {
      data: unknown[]
    }
    expect(before.data).toEqual([])

    cron = startLocalCron({
      url: worker.url,
      schedules: localSchedules(configuredCrons('wrangler.toml'), '*/2 * * * * *'),
      log: (l) => cronLog.push(l),
    })
    const deadline = Date.now() + 60_000
    let checkpoints: { tree_size?: number; size?: number }[] = []
    for (;;) {
      const res = await fetch(`${worker.url}/v1/integrity/checkpoints`, { headers: auth })
      checkpoints = ((await res.json()) as { data: typeof checkpoints }).data
      if (checkpoints.length > 0) break
      expect(Date.now(), `no checkpoint within 60 s; scheduler log:\n${cronLog.join('\n')}`).toBeLessThan(
        deadline,
      )
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(checkpoints.length).toBeGreaterThan(0)
    // The structured log lines: one per request, one per consumer batch.
    const logged = (msg: string) =>
      worker.logs.flatMap((l) => {
        const at = l.indexOf(`{"msg":"${msg}"`)
        return at < 0 ? [] : [JSON.parse(l.slice(at)) as Record<string, unknown>]
      })
    expect(logged('request')).toContainEqual(
      expect.objectContaining({
        method: 'POST',
        route: '/v1/events',
        status: 202,
        tenant: TENANT,
        principal: 'key',
      }),
    )
    expect(logged('request')).toContainEqual(
      expect.objectContaining({ route: '/v1/events/:id', status: 200 }),
    )
    expect(logged('event batch')).toContainEqual(
      expect.objectContaining({ queue: 'audit-events', tenants: 1, events_stored: expect.any(Number) }),
    )
    expect(cron.ticks.ok).toBeGreaterThan(0)
    expect(cronLog.some((l) => l.includes('GET /__scheduled?cron=*%2F5%20*%20*%20*%20* -> 200'))).toBe(true)
    cron.stop()
    await new Promise((r) => setTimeout(r, 3000)) // a tick in flight at stop() may still answer
    const settled = cron.ticks.ok + cron.ticks.failed
    await new Promise((r) => setTimeout(r, 3000))
    // Stopped means stopped: no tick after stop().
    expect(cron.ticks.ok + cron.ticks.failed).toBe(settled)
  })
})

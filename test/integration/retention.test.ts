import { createExecutionContext, env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { enforceRetention } from '../../cron/retention'
import { app } from '../../worker/app'
import { allPages, cursorParam } from '../support/pages'
import { BASE, mintKey, tenantD1, tenantDbOf, uniqueTenant } from './helpers'
import { seed } from './search-seed'

const DAY = 86_400_000
/** HOT_RETENTION_DAYS that puts the cutoff between 2026-01-26 and 2026-01-27. */
const daysTo = (iso: string) => String(Math.floor((Date.now() - Date.parse(iso)) / DAY))
const HOT = daysTo('2026-01-27T00:00:00Z')

async function ids(key: string, qs: string, hotDays: string) {
  const { ids } = await allPages(async (cursor) => {
    const req = new Request(`${BASE}/v1/events?limit=7&${qs}${cursorParam(cursor)}`, {
      headers: { authorization: `Bearer ${key}` },
    })
    const res = await app.fetch(req, { ...env, HOT_RETENTION_DAYS: hotDays }, createExecutionContext())
    expect(res.status, await res.clone().text()).toBe(200)
    return res
  })
  return ids
}

describe('hot window and archive-backed history', () => {
  it('moves old days out of D1 only once archived, and searches still see one continuous history', async () => {
    const tenant = uniqueTenant('retention')
    const { key } = await mintKey(tenant, ['events:read'])
    // Ten days around the cutoff, several consumer runs per day.
    for (let run = 0; run < 3; run++) {
      await seed(
        tenant,
        Array.from({ length: 20 }, (_, i) => ({
          id: `r${run}-${String(i).padStart(2, '0')}`,
          occurred_at: new Date(
            Date.parse('2026-01-22T06:00:00Z') + (i % 10) * DAY + run * 60_000,
          ).toISOString(),
          actor: { type: 'user' as const, id: `u${i % 3}` },
          target: { type: 'doc', id: `d${i % 4}` },
          ...(i % 5 === 0 ? { parent: { type: 'folder', id: 'f1' } } : {}),
        })),
      )
    }
    const questions = [
      '',
      'actor_id=u1',
      'target_type=doc&target_id=d2',
      'target_type=folder&target_id=f1&include_children=true',
      'since=2026-01-24T00:00:00Z&until=2026-01-29T00:00:00Z',
    ]
    const before = await Promise.all(questions.map((q) => ids(key, q, '3650')))
    expect(before[0]).toHaveLength(60)

    const cutoff = new Date(Date.now() - Number(HOT) * DAY).toISOString()
    const { released, held } = await enforceRetention(await tenantDbOf(tenant), env, cutoff)
    expect(held.filter((h) => h.tenant === tenant)).toEqual([])
    const mine = released.filter((r) => r.tenant === tenant)
    expect(mine.map((r) => r.dt).sort()).toEqual([
      '2026-01-22',
      '2026-01-23',
      '2026-01-24',
      '2026-01-25',
      '2026-01-26',
    ])
    expect(mine.reduce((n, r) => n + r.deleted, 0)).toBe(30)
    const left = await (await tenantD1(tenant))
      .prepare('SELECT count(*) AS n, min(occurred_at) AS oldest FROM events WHERE tenant = ?')
      .bind(tenant)
      .first<{ n: number; oldest: string }>()
    expect(left?.n).toBe(30)
    expect(left!.oldest >= '2026-01-27').toBe(true)

    // The same questions, across the cutoff: D1 for recent days, R2 for older ones, in 7-row pages.
    for (const [i, q] of questions.entries()) expect(await ids(key, q, HOT), q).toEqual(before[i])
    // And entirely from the archive.
    for (const [i, q] of questions.entries()) expect(await ids(key, q, '1'), q).toEqual(before[i])
    // A second run has nothing left to release.
    expect(
      (await enforceRetention(await tenantDbOf(tenant), env, cutoff)).released.filter(
        (r) => r.tenant === tenant,
      ),
    ).toEqual([])
  })
})

import { createExecutionContext, env } from 'cloudflare:test'
import { expect, it } from 'vitest'
import { app } from '../../worker/app'
import { BASE, event, mintKey, uniqueTenant } from './helpers'

/** A queue that takes the first `ok` sendBatch calls and refuses the rest. */
function flakyQueue(ok: number) {
  const sent: unknown[] = []
  let calls = 0
  return {
    sent,
    queue: {
      async sendBatch(msgs: { body: unknown }[]) {
        if (++calls > ok) throw new Error('Queue send failed (injected)')
        sent.push(...msgs.map((m) => m.body))
      },
      async send() {},
    } as unknown as Queue<unknown>,
  }
}

async function postWith(queue: Queue<unknown>, key: string, body: unknown) {
  const req = new Request(`${BASE}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return app.fetch(req, { ...env, EVENTS_QUEUE: queue }, createExecutionContext())
}

it('answers 503 with Retry-After and accepts nothing when the queue refuses', async () => {
  const { key } = await mintKey(uniqueTenant('q503'))
  const { queue, sent } = flakyQueue(0)
  const res = await postWith(queue, key, event())
  expect(res.status).toBe(503)
  expect(res.headers.get('retry-after')).toBe('5')
  const body = (await res.json()) as { accepted: unknown[]; detail: string }
  expect(body.accepted).toEqual([])
  expect(body.detail).toMatch(/nothing was accepted/)
  expect(sent).toHaveLength(0)
})

it('lists exactly which events were accepted when the queue fails part-way', async () => {
  const { key } = await mintKey(uniqueTenant('qpartial'))
  const { queue } = flakyQueue(1)
  // ~3 KB per event: 1000 events need several sendBatch calls.
  const events = Array.from({ length: 1000 }, (_, i) =>
    event({ id: `p-${i}`, description: 'd'.repeat(1500) }),
  )
  const res = await postWith(queue, key, { events })
  expect(res.status).toBe(503)
  const body = (await res.json()) as { accepted: { id: string }[]; not_accepted: { id: string }[] }
  expect(body.accepted.length).toBeGreaterThan(0)
  expect(body.accepted.length + body.not_accepted.length).toBe(1000)
  expect(body.accepted.map((a) => a.id)).toEqual(
    events.slice(0, body.accepted.length).map((e) => (e as { id?: string }).id),
  )
})

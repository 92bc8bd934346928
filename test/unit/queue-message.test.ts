import { describe, expect, it } from 'vitest'
import { DomainError } from '../../core/errors'
import { decodeQueueMessage, groupForSend, packMessages } from '../../core/ingest/queue-message'
import { type PendingEvent, toPendingEvent } from '../../core/ingest/stored-event'
import { LIMITS } from '../../core/limits'

const enc = new TextEncoder()
const ev = (i: number, pad = 0): PendingEvent =>
  toPendingEvent(
    {
      id: `e${i}`,
      occurred_at: '2026-01-01T00:00:00.000Z',
      action: 'doc.updated',
      actor: { type: 'user', id: 'u' },
      target: { type: 'doc', id: 'd' },
      ...(pad ? { metadata: { pad: 'é'.repeat(pad) } } : {}),
    },
    'acme',
    '2026-01-01T00:00:01.000Z',
    { key_id: 'k', request_id: 'r' },
  )

describe('queue packing', () => {
  it('keeps every message under 128 KB and every sendBatch under 100 messages and 256 KB', () => {
    // ~2 KB of multi-byte text per event: bytes, not characters, must be counted.
    const events = Array.from({ length: 1000 }, (_, i) => ev(i, 500))
    const msgs = packMessages('acme', events, { batch: true })
    for (const m of msgs) {
      expect(enc.encode(m.text).length).toBeLessThanOrEqual(128 * 1024)
      expect(enc.encode(m.text).length).toBeLessThanOrEqual(m.bytes)
    }
    const groups = groupForSend(msgs)
    for (const g of groups) {
      expect(g.length).toBeLessThanOrEqual(100)
      expect(g.reduce((n, m) => n + enc.encode(m.text).length, 0)).toBeLessThanOrEqual(256 * 1024)
    }
    const ids = msgs.flatMap((m) => m.eventIds)
    expect(ids).toEqual(events.map((e) => e.id))
    const decoded = msgs.flatMap((m) => {
      const d = decodeQueueMessage(m.text)
      if (!d.success) throw new Error(d.reason)
      return d.data.events
    })
    expect(decoded).toEqual(events)
  })

  it('caps a sendBatch at 100 messages when messages are small', () => {
    const msgs = Array.from({ length: 250 }, (_, i) => ({ text: 'x', bytes: 10, eventIds: [`e${i}`] }))
    expect(groupForSend(msgs).map((g) => g.length)).toEqual([100, 100, 50])
  })

  it('names every oversized event instead of sending any', () => {
    const events = [ev(0), ev(1, LIMITS.maxEventBytes / 2), ev(2)]
    try {
      packMessages('acme', events, { batch: true })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError)
      expect((err as DomainError).errors).toEqual([
        { path: 'events[1]', message: 'event exceeds 32768 bytes' },
      ])
    }
  })

  it('sends what a request shares once per message, and still reads version 1 messages', () => {
    const events = Array.from({ length: 100 }, (_, i) => ev(i))
    const [m] = packMessages('acme', events, { batch: true })
    const v1 = JSON.stringify({ v: 1, tenant: 'acme', events })
    expect(m!.text.length).toBeLessThan(v1.length * 0.8)
    const fromV1 = decodeQueueMessage(v1)
    const fromV2 = decodeQueueMessage(m!.text)
    expect(fromV1.success && fromV2.success).toBe(true)
    if (fromV1.success && fromV2.success) expect(fromV2.data).toEqual(fromV1.data)
  })

  it('starts a new message head when events do not share their ingest facts', () => {
    const a = ev(1)
    const b = { ...ev(2), ingest: { key_id: 'other', request_id: 'r2' } }
    const msgs = packMessages('acme', [a, b])
    expect(msgs).toHaveLength(2)
    const decoded = msgs.flatMap((m) => {
      const d = decodeQueueMessage(m.text)
      return d.success ? d.data.events : []
    })
    expect(decoded).toEqual([a, b])
  })

  it('rejects bodies that are not a valid message', () => {
    expect(decodeQueueMessage('{nope').success).toBe(false)
    expect(decodeQueueMessage({ v: 2, tenant: 't', events: [] }).success).toBe(false)
  })
})

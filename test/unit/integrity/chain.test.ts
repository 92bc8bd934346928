import { describe, expect, it } from 'vitest'
import { archiveObjectKey, parseArchiveKey, utcDate } from '../../../core/archive/layout'
import { toPendingEvent } from '../../../core/ingest/stored-event'
import { extendChain, GENESIS_HASH, leafHash, linkHash } from '../../../core/integrity/chain'

const pending = (id: string) =>
  toPendingEvent(
    {
      id,
      occurred_at: '2026-01-02T03:04:05.000Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u1' },
      target: { type: 'session', id: 's1' },
    },
    'acme',
    '2026-01-02T03:04:06.000Z',
    { key_id: 'k1', request_id: 'r1' },
  )

describe('hash chain', () => {
  it('links each event to the previous hash and numbers them from the head', async () => {
    const [a, b] = await extendChain({ seq: 0, hash: GENESIS_HASH }, [pending('a'), pending('b')])
    expect(a!.seq).toBe(1)
    expect(a!.prev_hash).toBe(GENESIS_HASH)
    expect(b!.seq).toBe(2)
    expect(b!.prev_hash).toBe(a!.hash)
    const { hash: _h, prev_hash: _p, ...content } = b!
    expect(b!.hash).toBe(await linkHash(a!.hash, await leafHash(content)))
  })

  it('changes the hash when any covered field changes', async () => {
    const [a] = await extendChain({ seq: 0, hash: GENESIS_HASH }, [pending('a')])
    const [a2] = await extendChain({ seq: 0, hash: GENESIS_HASH }, [
      { ...pending('a'), action: 'user.logout' },
    ])
    expect(a2!.hash).not.toBe(a!.hash)
  })
})

describe('archive keys', () => {
  it('uses the UTC date of occurred_at and round-trips', () => {
    expect(utcDate('2026-03-01T00:30:00+02:00')).toBe('2026-02-28')
    const key = archiveObjectKey('acme', '2026-02-28', 1, 12)
    expect(key).toBe('events/tenant=acme/dt=2026-02-28/000000000001-000000000012.ndjson.gz')
    expect(parseArchiveKey(key)).toEqual({
      tenant: 'acme',
      dt: '2026-02-28',
      name: '000000000001-000000000012.ndjson.gz',
    })
  })
})

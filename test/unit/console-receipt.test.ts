// The console's in-browser receipt check (console/src/receipt.ts, Web Crypto) gives the same
// verdict and the same problem kind as the offline verifier (verifier/check-proof.ts) on good
// receipts at every position and on tampered ones; and its export reader agrees with the SDK's.
import { describe, expect, it } from 'vitest'
import { markerRowsOf, RecordSplitter } from '../../console/src/export-lines'
import { checkReceipt } from '../../console/src/receipt'
import { toPendingEvent } from '../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../core/integrity/chain'
import { type PublicKeyDocument, signCheckpoint } from '../../core/integrity/checkpoint'
import { inclusionProof, merkleRoot } from '../../core/integrity/merkle'
import { loadKeyRing, publicKeyDocument } from '../../core/integrity/signing-keys'
import { markerRows, splitRecords } from '../../sdk/export'
import { checkProof } from '../../verifier/check-proof'
import { FIXTURE_KEYS } from '../support/archive-fixture'

async function receipt(n: number, seq: number, size = n) {
  const pending = Array.from({ length: n }, (_, i) =>
    toPendingEvent(
      {
        id: `e${i + 1}`,
        occurred_at: '2026-03-01T10:00:00.000Z',
        action: 'user.role.updated',
        actor: { type: 'user', id: `u${i}`, name: '<img src=x onerror=alert(1)> Ünïcødé' },
        target: { type: 'user', id: 't1' },
        changes: [{ field: 'role', before: 'viewer', after: { name: 'admin', level: 2 } }],
        metadata: { note: 'émoji 🎉', n: 1.5 },
      },
      'acme',
      '2026-03-01T10:00:01.000Z',
      { key_id: 'k', request_id: `r${i}` },
    ),
  )
  const { stored, leaves } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  const ring = await loadKeyRing(FIXTURE_KEYS)
  const key = ring[0]!
  const checkpoint = await signCheckpoint(
    {
      tenant: 'acme',
      seq: size,
      hash: stored[size - 1]!.hash,
      root: merkleRoot(leaves.slice(0, size)),
      time: '2026-03-01T10:05:00.000Z',
      key_id: key.spec.id,
    },
    key.privateKey!,
  )
  const record = stored[seq - 1]!
  const doc = {
    event: { id: record.id, seq, leaf_hash: leaves[seq - 1], hash: record.hash, prev_hash: record.prev_hash },
    record,
    checkpoint,
    inclusion_proof: { leaf_index: seq - 1, tree_size: size, hashes: inclusionProof(seq - 1, leaves, size) },
  }
  return { doc, keys: publicKeyDocument(ring) as PublicKeyDocument }
}

const flip = (h: string) => (Number.parseInt(h[0]!, 16) ^ 1).toString(16) + h.slice(1)
type Doc = Awaited<ReturnType<typeof receipt>>['doc']
const clone = (d: Doc): Doc => structuredClone(d)

async function both(doc: unknown, keys: PublicKeyDocument) {
  const offline = await checkProof(doc, keys)
  const browser = await checkReceipt(doc, keys)
  return { offline, browser }
}

describe('the console receipt check', () => {
  it('verifies receipts at every position of trees of several sizes, as the verifier does', async () => {
    for (const [n, seq, size] of [
      [1, 1, 1],
      [7, 1, 7],
      [7, 4, 7],
      [7, 7, 7],
      [13, 9, 13],
      [13, 3, 10],
      [16, 16, 16],
    ] as const) {
      const { doc, keys } = await receipt(n, seq, size)
      const { offline, browser } = await both(doc, keys)
      expect(offline.ok, `${n}/${seq}`).toBe(true)
      expect(browser).toMatchObject({
        ok: true,
        seq,
        checkpoint: { seq: size, time: '2026-03-01T10:05:00.000Z' },
        passed: ['leaf hash', 'chain hash', 'checkpoint signature', 'audit path'],
      })
    }
  })

  const tamperings: [string, (d: Doc) => void][] = [
    [
      'an altered actor',
      (d) => {
        d.record.actor.id = 'u_other'
      },
    ],
    [
      'an altered change',
      (d) => {
        d.record.changes![0]!.before = 'admin'
      },
    ],
    [
      'a stated leaf that is not the record',
      (d) => {
        d.event.leaf_hash = flip(d.event.leaf_hash!)
      },
    ],
    [
      'an altered chain hash',
      (d) => {
        d.record.hash = flip(d.record.hash)
      },
    ],
    [
      'an altered previous hash',
      (d) => {
        d.record.prev_hash = flip(d.record.prev_hash)
      },
    ],
    [
      'a checkpoint with another root',
      (d) => {
        d.checkpoint.root = flip(d.checkpoint.root)
      },
    ],
    [
      'a checkpoint with another time',
      (d) => {
        d.checkpoint.time = '2026-03-01T10:06:00.000Z'
      },
    ],
    [
      'an unknown signing key',
      (d) => {
        d.checkpoint.key_id = 'nobody'
      },
    ],
    [
      'a flipped audit path hash',
      (d) => {
        d.inclusion_proof.hashes[0] = flip(d.inclusion_proof.hashes[0]!)
      },
    ],
    [
      'a dropped audit path hash',
      (d) => {
        d.inclusion_proof.hashes.pop()
      },
    ],
    [
      'another leaf index',
      (d) => {
        d.inclusion_proof.leaf_index += 1
      },
    ],
    [
      'another tree size',
      (d) => {
        d.inclusion_proof.tree_size -= 1
      },
    ],
    [
      'no checkpoint',
      (d) => {
        delete (d as Partial<Doc>).checkpoint
      },
    ],
    [
      'a hash in upper case',
      (d) => {
        d.record.hash = d.record.hash.toUpperCase()
      },
    ],
  ]
  for (const [what, tamper] of tamperings)
    it(`refuses ${what} with the verifier's problem kind`, async () => {
      const { doc, keys } = await receipt(9, 5)
      const bad = clone(doc)
      tamper(bad)
      const { offline, browser } = await both(bad, keys)
      expect(offline.ok).toBe(false)
      expect(browser.ok).toBe(false)
      if (offline.ok || browser.ok) return
      expect(browser.problem.kind).toBe(offline.problem.kind)
    })

  it('refuses a receipt checked against keys that did not sign it', async () => {
    const { doc } = await receipt(3, 2)
    const { keys: others } = await receipt(1, 1)
    const stranger = {
      keys: others.keys.map((k) => ({ ...k, public_key: 'A'.repeat(43) })),
    } as PublicKeyDocument
    const r = await checkReceipt(doc, stranger)
    expect(r).toMatchObject({ ok: false, problem: { kind: 'checkpoint_invalid' } })
    expect((await checkProof(doc, stranger)).ok).toBe(false)
  })
})

describe('the console export reader', () => {
  const files = {
    ndjson: '{"id":"a"}\n{"id":"b"}\n{"_export":{"rows":2,"complete":true}}\n',
    csv: 'id,action\r\na,"two\r\nlines"\r\nb,x\r\n#complete,2,\r\n',
  } as const
  for (const format of ['ndjson', 'csv'] as const)
    it(`splits ${format} as the SDK does, in any chunking, and reads its marker`, async () => {
      const text = files[format]
      const bytes = new TextEncoder().encode(text)
      const sdk: string[] = []
      for await (const l of splitRecords([bytes], format)) sdk.push(l)
      for (const size of [1, 2, 3, 7, bytes.length]) {
        const s = new RecordSplitter(format)
        const got: string[] = []
        const dec = new TextDecoder()
        for (let i = 0; i < bytes.length; i += size)
          got.push(...s.push(dec.decode(bytes.subarray(i, i + size), { stream: true })))
        got.push(...s.push(dec.decode(), true))
        expect(got, `chunks of ${size}`).toEqual(sdk)
      }
      const last = sdk.at(-1)!
      expect(markerRowsOf(last, format)).toBe(2)
      expect(markerRowsOf(last, format)).toBe(markerRows(last, format))
      expect(markerRowsOf(sdk[0]!, format)).toBeUndefined()
    })
})

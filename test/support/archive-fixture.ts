// Writes an archive directory exactly as the consumer and the checkpoint job lay it out in R2,
// for the verifier's tests and benchmark.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { archiveObjectKey, checkpointObjectKey, utcDate } from '../../core/archive/layout'
import { type PendingEvent, toPendingEvent } from '../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../core/integrity/chain'
import { type SignedCheckpoint, signCheckpoint } from '../../core/integrity/checkpoint'
import { MerkleAccumulator } from '../../core/integrity/merkle'
import { loadKeyRing, publicKeyDocument } from '../../core/integrity/signing-keys'

export const FIXTURE_KEYS = JSON.stringify([
  { id: 'k1', seed: Buffer.alloc(32, 7).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
])

export type TenantSpec = {
  tenant: string
  /** Sizes of consumer batches, in order. */
  batches: number[]
  /** Day offset (0..) of each event, by overall index. */
  day: (i: number) => number
  /** After which batches a checkpoint is issued (the last one always is). */
  checkpointAfter?: number[]
  /** Lines in field insertion order, as archives written before canonical lines hold them. */
  legacyLines?: boolean
}

function pendingEvent(tenant: string, i: number, day: number): PendingEvent {
  const d = new Date(Date.UTC(2026, 0, 1 + day, 0, 0, i % 60)).toISOString()
  return toPendingEvent(
    {
      id: `${tenant}-e${i}`,
      occurred_at: d,
      action: i % 3 === 0 ? 'user.login' : 'doc.updated',
      actor: { type: 'user', id: `u${i % 5}` },
      target: { type: 'doc', id: `d${i % 7}` },
      changes: [{ field: 'title', before: `t${i}`, after: `t${i + 1}` }],
      // Nested keys named like the chain's own fields, escapes and non-ASCII text: a reader that
      // cuts `hash` and `prev_hash` out of a line must find them at the top level only.
      ...(i % 4 === 1
        ? {
            description: { template: 'moved {hash}', values: { hash: `"h${i}"\\`, prev_hash: i } },
            metadata: { seq: 'x', tenant: 'other', note: 'caf\u00e9 \u2603 \ud83d\ude00 "q" \\n' },
          }
        : {}),
    },
    tenant,
    d,
    { key_id: 'k', request_id: `r${i}` },
  )
}

export async function writeArchive(dir: string, specs: TenantSpec[]) {
  const ring = await loadKeyRing(FIXTURE_KEYS)
  const key = ring[0]!
  const write = (rel: string, data: string | Buffer) => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true })
    writeFileSync(join(dir, rel), data)
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'audit-log-keys.json'), JSON.stringify(publicKeyDocument(ring)))
  const checkpoints: SignedCheckpoint[] = []
  for (const spec of specs) {
    let head = { seq: 0, hash: GENESIS_HASH }
    const tree = new MerkleAccumulator()
    let i = 0
    for (const [b, size] of spec.batches.entries()) {
      const pending = Array.from({ length: size }, () => pendingEvent(spec.tenant, i, spec.day(i++)))
      const { stored, leaves, lines: canonical } = await appendToChain(head, pending)
      for (const l of leaves) tree.append(Buffer.from(l, 'hex'))
      const byDay = new Map<string, string[]>()
      for (const [k, e] of stored.entries()) {
        const dt = utcDate(e.occurred_at)
        const line = spec.legacyLines ? JSON.stringify(e) : canonical[k]!
        byDay.set(dt, [...(byDay.get(dt) ?? []), line])
      }
      const first = stored[0]!.seq
      const last = stored.at(-1)!.seq
      for (const [dt, lines] of byDay)
        write(archiveObjectKey(spec.tenant, dt, first, last), gzipSync(`${lines.join('\n')}\n`))
      head = { seq: last, hash: stored.at(-1)!.hash }
      if (b === spec.batches.length - 1 || spec.checkpointAfter?.includes(b)) {
        const time = new Date(Date.UTC(2026, 1, 1, 0, 0, b)).toISOString()
        const cp = await signCheckpoint(
          {
            tenant: spec.tenant,
            seq: head.seq,
            hash: head.hash,
            root: tree.root(),
            time,
            key_id: key.spec.id,
          },
          key.privateKey!,
        )
        write(checkpointObjectKey(cp), JSON.stringify(cp))
        checkpoints.push(cp)
      }
    }
  }
  return { checkpoints, keys: publicKeyDocument(ring) }
}

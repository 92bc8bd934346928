import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { toPendingEvent } from '../../core/ingest/stored-event'
import { hashedContent, leafHash } from '../../core/integrity/chain'
import {
  checkCheckpoint,
  type PublicKeyDocument,
  type SignedCheckpoint,
} from '../../core/integrity/checkpoint'
import {
  consistencyProof,
  inclusionProof,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../core/integrity/merkle'
import { ingestTenantEvents } from '../../queue-consumer/event-batch'
import { checkConsistency, checkProof } from '../../verifier/check-proof'
import { BASE, mintKey, tenantD1, tick, uniqueTenant } from './helpers'
import { seed } from './search-seed'

describe('signed checkpoints and proofs', () => {
  it('issues a signed checkpoint per tenant on every tick, even with nothing new, in D1 and R2', async () => {
    const tenant = uniqueTenant('cp')
    const { key } = await mintKey(tenant, ['events:read'])
    await seed(
      tenant,
      Array.from({ length: 7 }, (_, i) => ({ id: `c-${i}` })),
    )
    await tick()
    await new Promise((r) => setTimeout(r, 5))
    await tick()
    const res = await SELF.fetch(`${BASE}/v1/integrity/checkpoints`, {
      headers: { authorization: `Bearer ${key}` },
    })
    const { data } = (await res.json()) as { data: SignedCheckpoint[] }
    expect(data.length).toBeGreaterThanOrEqual(2)
    expect(data[0]!.seq).toBe(7)
    expect(data[1]!.seq).toBe(7)
    expect(data[0]!.time > data[1]!.time).toBe(true)
    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    expect(keys.keys[0]).toMatchObject({ algorithm: 'Ed25519' })
    for (const cp of data) expect(await checkCheckpoint(cp, keys)).toBeNull()
    expect(await checkCheckpoint({ ...data[0]!, seq: 6 }, keys)).toBe('bad_signature')
    expect(await checkCheckpoint({ ...data[0]!, key_id: 'other' }, keys)).toBe('unknown_key')
    const files = await env.ARCHIVE.list({ prefix: `checkpoints/tenant=${tenant}/` })
    expect(files.objects.length).toBe(data.length)
  })

  it('proves any event is in a signed checkpoint, issuing one on demand', async () => {
    const tenant = uniqueTenant('proof')
    const { key } = await mintKey(tenant, ['events:read'])
    await seed(
      tenant,
      Array.from({ length: 13 }, (_, i) => ({ id: `p-${i}` })),
    )
    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    for (const id of ['p-0', 'p-6', 'p-12']) {
      const res = await SELF.fetch(`${BASE}/v1/events/${id}/proof`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(res.status).toBe(200)
      const proof = (await res.json()) as {
        record: Record<string, unknown> & { hash: string; prev_hash: string; seq: number }
        checkpoint: SignedCheckpoint
        inclusion_proof: { leaf_index: number; tree_size: number; hashes: string[] }
      }
      // Everything a client needs, recomputed from the record itself.
      const leaf = await leafHash(hashedContent(proof.record as never))
      const { leaf_index, tree_size, hashes } = proof.inclusion_proof
      expect(tree_size).toBe(13)
      expect(verifyInclusion(leaf, leaf_index, tree_size, hashes, proof.checkpoint.root)).toBe(true)
      expect(await checkCheckpoint(proof.checkpoint, keys)).toBeNull()
      // The offline checker (npm run verify -- --proof) accepts the Worker's answer as it is.
      expect(await checkProof(proof, keys)).toMatchObject({ ok: true, id, tenant, checkpoint: { seq: 13 } })
      const forged = { ...proof.record, action: 'user.deleted' }
      expect(
        verifyInclusion(
          await leafHash(hashedContent(forged as never)),
          leaf_index,
          tree_size,
          hashes,
          proof.checkpoint.root,
        ),
      ).toBe(false)
    }
    // A later event is covered by a newer checkpoint (once the on-demand interval has passed).
    await seed(tenant, [{ id: 'p-late' }])
    const early = await SELF.fetch(`${BASE}/v1/events/p-late/proof`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(early.status).toBe(503)
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    await new Promise((r) => setTimeout(r, 1100))
    const late = (await (
      await SELF.fetch(`${BASE}/v1/events/p-late/proof`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as {
      inclusion_proof: { tree_size: number }
    }
    expect(late.inclusion_proof.tree_size).toBeGreaterThanOrEqual(14)
  })

  it('proves from stored subtree roots over a long chain, and from leaves alone for rows without them', async () => {
    const tenant = uniqueTenant('tree')
    const { key } = await mintKey(tenant, ['events:read'])
    let n = 0
    for (const size of [300, 1, 517, 256, 230]) {
      await seed(
        tenant,
        Array.from({ length: size }, () => ({ id: `t-${n++}` })),
      )
    }
    const rows = (
      await (
        await tenantD1(tenant)
      )
        .prepare('SELECT leaves, nodes FROM chain_leaves WHERE tenant = ? ORDER BY first_seq')
        .bind(tenant)
        .all<{ leaves: string; nodes: string | null }>()
    ).results
    const leaves = rows.flatMap((r) => r.leaves.match(/.{64}/g)!)
    expect(leaves.length).toBe(1304)
    // 1304 leaves: perfect subtrees of 256 (5), 512 (2) and 1024 (1) are kept.
    const kept = rows.flatMap((r) => Object.keys(JSON.parse(r.nodes ?? '{}') as object))
    expect(kept.sort()).toEqual([
      '0:1024',
      '0:256',
      '0:512',
      '1024:256',
      '256:256',
      '512:256',
      '512:512',
      '768:256',
    ])

    const get = async (path: string) => {
      const res = await SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })
      expect(res.status).toBe(200)
      return res.json() as Promise<Record<string, unknown>>
    }
    const check = async () => {
      for (const m of [0, 255, 256, 511, 700, 1023, 1024, 1279, 1280, 1303]) {
        const p = (await get(`/v1/events/t-${m}/proof`)) as {
          checkpoint: SignedCheckpoint
          inclusion_proof: { leaf_index: number; tree_size: number; hashes: string[] }
        }
        const size = p.inclusion_proof.tree_size
        expect(p.checkpoint.root).toBe(merkleRoot(leaves.slice(0, size)))
        expect(p.inclusion_proof.hashes).toEqual(inclusionProof(m, leaves, size))
      }
      for (const [from, to] of [
        [1, 1304],
        [256, 1024],
        [300, 1304],
        [1000, 1001],
        [1303, 1304],
        [1024, 1024],
      ] as const) {
        const c = await get(`/v1/integrity/consistency?from=${from}&to=${to}`)
        expect(c).toEqual({
          from_size: from,
          to_size: to,
          from_root: merkleRoot(leaves.slice(0, from)),
          to_root: merkleRoot(leaves.slice(0, to)),
          proof: consistencyProof(from, leaves, to),
        })
      }
    }
    await check()
    // Rows written before subtree roots were kept: the same proofs, from leaves.
    await (await tenantD1(tenant))
      .prepare('UPDATE chain_leaves SET nodes = NULL WHERE tenant = ?')
      .bind(tenant)
      .run()
    await check()
  })

  it("answers 404 for another tenant's event proof", async () => {
    const other = (await mintKey(uniqueTenant('other'), ['events:read'])).key
    const res = await SELF.fetch(`${BASE}/v1/events/p-0/proof`, {
      headers: { authorization: `Bearer ${other}` },
    })
    expect(res.status).toBe(404)
  })

  it('a client holding an older checkpoint checks offline that a newer one extends it', async () => {
    const tenant = uniqueTenant('extend')
    const { key } = await mintKey(tenant, ['events:read'])
    const events = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        toPendingEvent(
          {
            id: `x-${from + i}`,
            occurred_at: '2026-02-01T00:00:00.000Z',
            action: 'doc.updated',
            actor: { type: 'user', id: 'u' },
            target: { type: 'doc', id: `d${from + i}` },
          },
          tenant,
          new Date().toISOString(),
          { key_id: 'k', request_id: 'r' },
        ),
      )
    const get = async (path: string) =>
      (await (
        await SELF.fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as never
    await ingestTenantEvents(env, tenant, events(0, 20))
    await tick()
    await ingestTenantEvents(env, tenant, events(20, 15))
    await tick()
    const { data } = (await get('/v1/integrity/checkpoints')) as { data: SignedCheckpoint[] }
    const newer = data.find((c) => c.seq === 35)
    const older = data.find((c) => c.seq === 20)
    expect(newer && older).toBeTruthy()
    const keys = (await (await SELF.fetch(`${BASE}/.well-known/audit-log-keys`)).json()) as PublicKeyDocument
    const answer = await get('/v1/integrity/consistency?from=20&to=35')
    expect(await checkConsistency(answer, older, newer, keys)).toMatchObject({
      ok: true,
      tenant,
      from: { seq: 20 },
      to: { seq: 35 },
    })
    // The answer for other sizes does not vouch for these two checkpoints.
    expect(
      await checkConsistency(await get('/v1/integrity/consistency?from=19&to=35'), older, newer, keys),
    ).toMatchObject({
      ok: false,
      problem: { kind: 'wrong_size' },
    })
  })

  it('concurrent consumer invocations for one tenant keep one gap-free chain and a Merkle head that matches it', async () => {
    const tenant = uniqueTenant('race')
    const { key } = await mintKey(tenant, ['events:read'])
    const now = new Date().toISOString()
    const all = Array.from({ length: 120 }, (_, i) =>
      toPendingEvent(
        {
          id: `r-${i}`,
          occurred_at: `2026-02-0${1 + (i % 3)}T00:00:00.000Z`,
          action: 'doc.updated',
          actor: { type: 'user', id: 'u' },
          target: { type: 'doc', id: `d${i}` },
        },
        tenant,
        now,
        { key_id: 'k', request_id: 'r' },
      ),
    )
    // Ten overlapping slices at once: redeliveries and concurrent invocations racing for the head.
    // An invocation that keeps losing the race throws and its message is redelivered, as here.
    const deliverUntilStored = async (slice: typeof all) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await ingestTenantEvents(env, tenant, slice)
        } catch (err) {
          if (attempt >= 5) throw err
        }
      }
    }
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => deliverUntilStored(all.slice(i * 10, i * 10 + 30))),
    )
    const rows = (
      await (
        await tenantD1(tenant)
      )
        .prepare('SELECT body FROM events WHERE tenant = ?')
        .bind(tenant)
        .all<{ body: string }>()
    ).results.map((r) => JSON.parse(r.body) as Record<string, unknown> & { seq: number; hash: string })
    rows.sort((a, b) => a.seq - b.seq)
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1))
    expect(new Set(rows.map((r) => r.id)).size).toBe(120)
    const leaves = await Promise.all(rows.map((r) => leafHash(hashedContent(r as never))))
    // The signed root (from the frontier kept with the chain head) is the root of the stored events.
    await tick()
    const { data } = (await (
      await SELF.fetch(`${BASE}/v1/integrity/checkpoints?limit=1`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as { data: SignedCheckpoint[] }
    expect(data[0]).toMatchObject({ seq: 120, hash: rows[119]!.hash, root: merkleRoot(leaves) })
    // A client holding an older tree size can check that the newer tree extends it.
    const res = await SELF.fetch(`${BASE}/v1/integrity/consistency?from=45&to=120`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(res.status).toBe(200)
    const c = (await res.json()) as { proof: string[]; from_root: string; to_root: string }
    expect(c.proof).toEqual(consistencyProof(45, leaves))
    expect(verifyConsistency(45, 120, c.proof, merkleRoot(leaves.slice(0, 45)), data[0]!.root)).toBe(true)
    const bad = await SELF.fetch(`${BASE}/v1/integrity/consistency?from=50&to=10`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(bad.status).toBe(400)
    const tooFar = await SELF.fetch(`${BASE}/v1/integrity/consistency?from=1&to=121`, {
      headers: { authorization: `Bearer ${key}` },
    })
    expect(tooFar.status).toBe(404)
  })
})

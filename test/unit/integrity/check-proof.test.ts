import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { toPendingEvent } from '../../../core/ingest/stored-event'
import { appendToChain, GENESIS_HASH } from '../../../core/integrity/chain'
import { type PublicKeyDocument, signCheckpoint } from '../../../core/integrity/checkpoint'
import { consistencyProof, inclusionProof, merkleRoot } from '../../../core/integrity/merkle'
import { loadKeyRing, publicKeyDocument } from '../../../core/integrity/signing-keys'
import { checkConsistency, checkProof } from '../../../verifier/check-proof'
import { FIXTURE_KEYS } from '../../support/archive-fixture'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A chain of `n` events and the proof document GET /v1/events/:id/proof gives for seq `seq`. */
async function proofFor(n: number, seq: number, size = n) {
  const pending = Array.from({ length: n }, (_, i) =>
    toPendingEvent(
      {
        id: `e${i + 1}`,
        occurred_at: '2026-03-01T10:00:00.000Z',
        action: 'user.role.updated',
        actor: { type: 'user', id: `u${i}` },
        target: { type: 'user', id: 't1' },
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
  return { doc, keys: publicKeyDocument(ring) as PublicKeyDocument, leaves, stored }
}

const flip = (h: string) => (Number.parseInt(h[0]!, 16) ^ 1).toString(16) + h.slice(1)

describe('offline proof check', () => {
  it('accepts a proof of any event in a checkpoint covering it, at any position', async () => {
    for (const [n, seq] of [
      [1, 1],
      [7, 1],
      [7, 4],
      [7, 7],
      [13, 9],
    ] as const) {
      const { doc, keys } = await proofFor(n, seq)
      expect(await checkProof(doc, keys)).toMatchObject({
        ok: true,
        id: `e${seq}`,
        tenant: 'acme',
        seq,
        checkpoint: { seq: n },
      })
    }
  })

  it('names what is wrong with a tampered proof', async () => {
    const { doc, keys } = await proofFor(13, 6)
    const ring2 = await loadKeyRing(
      JSON.stringify([
        { id: 'k9', seed: Buffer.alloc(32, 9).toString('base64url'), not_before: '2000-01-01T00:00:00.000Z' },
      ]),
    )
    const cases: [string, unknown, string][] = [
      [
        'a field of the record',
        { ...doc, record: { ...doc.record, action: 'user.deleted' } },
        'leaf_mismatch',
      ],
      [
        'the record, with the stated leaf dropped',
        { ...doc, event: undefined, record: { ...doc.record, action: 'user.deleted' } },
        'hash_mismatch',
      ],
      ['its chain hash', { ...doc, record: { ...doc.record, hash: flip(doc.record.hash) } }, 'hash_mismatch'],
      [
        'the checkpoint root',
        { ...doc, checkpoint: { ...doc.checkpoint, root: flip(doc.checkpoint.root) } },
        'checkpoint_invalid',
      ],
      [
        'the checkpoint key',
        { ...doc, checkpoint: { ...doc.checkpoint, key_id: 'k9' } },
        'checkpoint_invalid',
      ],
      [
        'an audit path entry',
        {
          ...doc,
          inclusion_proof: {
            ...doc.inclusion_proof,
            hashes: doc.inclusion_proof.hashes.map((h, i) => (i === 1 ? flip(h) : h)),
          },
        },
        'not_included',
      ],
      [
        'a shortened audit path',
        { ...doc, inclusion_proof: { ...doc.inclusion_proof, hashes: doc.inclusion_proof.hashes.slice(1) } },
        'not_included',
      ],
      [
        'the leaf index',
        { ...doc, inclusion_proof: { ...doc.inclusion_proof, leaf_index: 6 } },
        'wrong_position',
      ],
      [
        'the tree size',
        { ...doc, inclusion_proof: { ...doc.inclusion_proof, tree_size: 12 } },
        'wrong_position',
      ],
      ['the shape', { ...doc, inclusion_proof: { leaf_index: -1, tree_size: 13, hashes: [] } }, 'malformed'],
      ['the record schema', { ...doc, record: { ...doc.record, seq: 'six' } }, 'malformed'],
      ['nothing at all', 'hello', 'malformed'],
    ]
    for (const [what, tampered, kind] of cases)
      expect(await checkProof(tampered, keys), what).toMatchObject({ ok: false, problem: { kind } })
    // Re-signed by a key the service never published: still not proven.
    const forged = await signCheckpoint({ ...doc.checkpoint, key_id: 'k9' }, ring2[0]!.privateKey!)
    expect(await checkProof({ ...doc, checkpoint: forged }, keys)).toMatchObject({
      ok: false,
      problem: { kind: 'checkpoint_invalid', message: /unknown_key/ },
    })
  })

  it('refuses a checkpoint that does not cover the event, or of another tenant', async () => {
    const { doc, keys } = await proofFor(13, 12)
    const short = await proofFor(13, 5, 10)
    expect(await checkProof({ ...doc, checkpoint: short.doc.checkpoint }, keys)).toMatchObject({
      ok: false,
      problem: { kind: 'wrong_position', message: /does not cover/, expected: 'seq >= 12', found: '10' },
    })
    const key = (await loadKeyRing(FIXTURE_KEYS))[0]!
    const { signature: _s, ...body } = doc.checkpoint
    const other = await signCheckpoint({ ...body, tenant: 'other' }, key.privateKey!)
    expect(await checkProof({ ...doc, checkpoint: other }, keys)).toMatchObject({
      ok: false,
      problem: { kind: 'wrong_tenant', expected: 'acme', found: 'other' },
    })
    // At its own seq, a checkpoint signed over another chain hash contradicts the record.
    const head = await proofFor(7, 7)
    const { signature: _h, ...headBody } = head.doc.checkpoint
    const forked = await signCheckpoint({ ...headBody, hash: flip(headBody.hash) }, key.privateKey!)
    expect(await checkProof({ ...head.doc, checkpoint: forked }, keys)).toMatchObject({
      ok: false,
      problem: { kind: 'checkpoint_mismatch' },
    })
  })

  it('CLI: exits 0 on a proof, 1 naming the problem, 2 without keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proof-'))
    dirs.push(dir)
    const { doc, keys } = await proofFor(9, 3)
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(keys))
    writeFileSync(join(dir, 'proof.json'), JSON.stringify(doc))
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...doc, record: { ...doc.record, seq: 4 } }))
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'verifier/cli.ts', ...args], { encoding: 'utf8' })
    const ok = cli('--proof', join(dir, 'proof.json'), '--keys', join(dir, 'keys.json'))
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(
      /ok {2}event e3 \(acme, seq 3\) is in the checkpoint of 2026-03-01T10:05:00.000Z \(seq 9\)/,
    )
    const bad = cli('--proof', join(dir, 'bad.json'), '--keys', join(dir, 'keys.json'))
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/NOT PROVEN: leaf_mismatch/)
    const noKeys = cli('--proof', join(dir, 'proof.json'))
    expect(noKeys.status).toBe(2)
    expect(noKeys.stderr).toMatch(/pass --keys/)
  }, 20_000)
})

/** Signed checkpoints of a chain of `n` events (its events differ with `salt`) at each given size. */
async function checkpointsOf(n: number, sizes: number[], salt = '', tenant = 'acme') {
  const pending = Array.from({ length: n }, (_, i) =>
    toPendingEvent(
      {
        id: `e${i + 1}`,
        occurred_at: '2026-03-01T10:00:00.000Z',
        action: 'doc.updated',
        actor: { type: 'user', id: `u${i}${salt}` },
        target: { type: 'doc', id: 'd1' },
      },
      tenant,
      '2026-03-01T10:00:01.000Z',
      { key_id: 'k', request_id: `r${i}` },
    ),
  )
  const { stored, leaves } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pending)
  const ring = await loadKeyRing(FIXTURE_KEYS)
  const key = ring[0]!
  const cps = await Promise.all(
    sizes.map((size, i) =>
      signCheckpoint(
        {
          tenant,
          seq: size,
          hash: stored[size - 1]!.hash,
          root: merkleRoot(leaves.slice(0, size)),
          time: `2026-03-01T10:0${i}:00.000Z`,
          key_id: key.spec.id,
        },
        key.privateKey!,
      ),
    ),
  )
  const answer = (from: number, to: number) => ({
    from_size: from,
    to_size: to,
    from_root: merkleRoot(leaves.slice(0, from)),
    to_root: merkleRoot(leaves.slice(0, to)),
    proof: consistencyProof(from, leaves, to),
  })
  return { cps, answer, keys: publicKeyDocument(ring) as PublicKeyDocument, key }
}

describe('offline consistency check', () => {
  it('accepts a newer checkpoint that extends an older one, at any two sizes', async () => {
    const { cps, answer, keys } = await checkpointsOf(21, [1, 5, 8, 13, 21])
    for (const [i, j] of [
      [0, 4],
      [1, 3],
      [2, 4],
      [3, 4],
      [2, 2],
    ] as const) {
      const from = cps[i]!
      const to = cps[j]!
      expect(
        await checkConsistency(answer(from.seq, to.seq), from, to, keys),
        `${from.seq} -> ${to.seq}`,
      ).toMatchObject({
        ok: true,
        tenant: 'acme',
        from: { seq: from.seq },
        to: { seq: to.seq },
      })
    }
  })

  it('catches history changed between the two checkpoints, and answers that do not fit them', async () => {
    const { cps, answer, keys, key } = await checkpointsOf(13, [5, 13])
    const [older, newer] = cps as [(typeof cps)[0], (typeof cps)[0]]
    // The same tenant's tree rebuilt from other events: signed, well formed, and not an extension.
    const forked = await checkpointsOf(13, [5, 13], 'x')
    const rewritten = forked.cps[1]!
    expect(await checkConsistency(forked.answer(5, 13), older, rewritten, keys)).toMatchObject({
      ok: false,
      problem: { kind: 'wrong_root' },
    })
    expect(
      await checkConsistency({ ...forked.answer(5, 13), from_root: older.root }, older, rewritten, keys),
    ).toMatchObject({ ok: false, problem: { kind: 'inconsistent' } })
    const flipped = answer(5, 13)
    flipped.proof = flipped.proof.map((h, i) => (i === 0 ? flip(h) : h))
    const { signature: _s, ...body } = newer
    const cases: [string, unknown, unknown, unknown, string][] = [
      ['a proof entry', flipped, older, newer, 'inconsistent'],
      [
        'a dropped proof entry',
        { ...answer(5, 13), proof: answer(5, 13).proof.slice(1) },
        older,
        newer,
        'inconsistent',
      ],
      ['the sizes', answer(4, 13), older, newer, 'wrong_size'],
      ['the order', answer(5, 13), newer, older, 'wrong_size'],
      ['the newer root', { ...answer(5, 13), to_root: flip(newer.root) }, older, newer, 'wrong_root'],
      ['the newer signature', answer(5, 13), older, { ...newer, seq: 12 }, 'checkpoint_invalid'],
      ['the answer', { proof: [] }, older, newer, 'malformed'],
      [
        'another tenant',
        answer(5, 13),
        older,
        await signCheckpoint({ ...body, tenant: 'other' }, key.privateKey!),
        'wrong_tenant',
      ],
      [
        'two chains at one size',
        answer(13, 13),
        await signCheckpoint({ ...body, hash: flip(body.hash) }, key.privateKey!),
        newer,
        'inconsistent',
      ],
    ]
    for (const [what, a, from, to, kind] of cases)
      expect(await checkConsistency(a, from, to, keys), what).toMatchObject({ ok: false, problem: { kind } })
  })

  it('CLI: exits 0 when the newer checkpoint extends the older, 1 naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consistency-'))
    dirs.push(dir)
    const { cps, answer, keys } = await checkpointsOf(13, [5, 13])
    const write = (name: string, v: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(v))
      return join(dir, name)
    }
    const k = write('keys.json', keys)
    const older = write('older.json', cps[0])
    const newer = write('newer.json', cps[1])
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'verifier/cli.ts', ...args], { encoding: 'utf8' })
    const check = (answerFile: string, from: string, to: string) =>
      cli('--consistency', answerFile, '--from', from, '--to', to, '--keys', k)
    const ok = check(write('a.json', answer(5, 13)), older, newer)
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/ok {2}acme: the checkpoint of .* \(seq 13\) extends the one of .* \(seq 5\)/)
    const bad = check(write('b.json', answer(5, 13)), newer, older)
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/NOT PROVEN: wrong_size/)
    const missing = cli('--consistency', write('c.json', answer(5, 13)), '--from', older, '--keys', k)
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/--to needs the file holding the newer checkpoint/)
  }, 20_000)
})

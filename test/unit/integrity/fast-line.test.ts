import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toPendingEvent } from '../../../core/ingest/stored-event'
import {
  appendToChain,
  GENESIS_HASH,
  LINE_CONTENT_OFFSET,
  leafHashSync,
  storedLine,
} from '../../../core/integrity/chain'
import { MerkleAccumulator, merkleRoot } from '../../../core/integrity/merkle'
import { hexOfBinary } from '../../../core/integrity/sha256'
import {
  acceptChainedLine,
  ChainState,
  canonicalUtcDate,
  readChainedLine,
  tenantSuffix,
} from '../../../verifier/fast-line'

// Nested keys named like the top-level facts the reader looks for, escapes and non-ASCII text.
const pending = (id: string, tenant = 'acme') =>
  toPendingEvent(
    {
      id,
      occurred_at: '2026-01-02T03:04:05.000Z',
      action: 'user.login',
      actor: { type: 'user', id: 'u1', email: 'jane@example.com' },
      target: { type: 'session', id: 's1' },
      description: { template: 'x {hash}', values: { hash: `"${'a'.repeat(64)}"`, seq: 99 } },
      metadata: { occurred_at: '2030-01-01T00:00:00.000Z', seq: 7, tenant: 'other', note: 'café ☃ "\\' },
      changes: [{ field: 'f', before: { seq: 1 }, after: ',"seq":5,"tenant":"x","v":1}' }],
    },
    tenant,
    '2026-01-02T03:04:06.000Z',
    { key_id: 'k1', request_id: 'r1' },
  )

async function chain(n: number, tenant = 'acme') {
  return appendToChain(
    { seq: 0, hash: GENESIS_HASH },
    Array.from({ length: n }, (_, i) => pending(`e${i}`, tenant)),
  )
}

const dt = Buffer.from('2026-01-02')

describe('chained lines', () => {
  it('hold the whole record, and their tail after the chain members is the canonical content', async () => {
    const { stored, lines, leaves } = await chain(3)
    for (const [i, line] of lines.entries()) {
      const e = stored[i]!
      expect(JSON.parse(line)).toEqual(e)
      expect(storedLine(e)).toBe(line)
      const { hash: _h, prev_hash: _p, ...content } = e
      expect(`{${line.slice(LINE_CONTENT_OFFSET)}`).toBe(canonicalize(content))
      expect(leafHashSync(content)).toBe(leaves[i])
    }
  })

  it('are read without parsing: the seq, the leaf and the next hash, nested look-alikes ignored', async () => {
    const { stored, lines, leaves } = await chain(3)
    const state = new ChainState(GENESIS_HASH)
    for (const [i, line] of lines.entries()) {
      const b = Buffer.from(line)
      const facts = readChainedLine(b, tenantSuffix('acme'))
      expect(facts?.seq).toBe(i + 1)
      expect(acceptChainedLine(b, facts!, dt, state)).toBe(true)
      expect(hexOfBinary(state.leaf)).toBe(leaves[i])
      expect(state.prevHash).toBe(stored[i]!.hash)
      expect(b.toString()).toBe(line) // the bytes borrowed for hashing are put back
    }
  })

  it('leave to the slow path any line laid out otherwise or not of the tenant', async () => {
    const { stored, lines } = await chain(1)
    const line = lines[0]!
    const suffix = tenantSuffix('acme')
    expect(readChainedLine(Buffer.from(JSON.stringify(stored[0])), suffix)).toBeUndefined()
    expect(readChainedLine(Buffer.from(line), tenantSuffix('other'))).toBeUndefined()
    expect(readChainedLine(Buffer.from(`${line} `), suffix)).toBeUndefined()
    // The hash member moved into a nested object: valid JSON, same bytes once it is cut out.
    const hashMember = line.slice(1, LINE_CONTENT_OFFSET - '"prev_hash":"",'.length - 64)
    const nested = `{${line.slice(1 + hashMember.length)}`.replace('"values":{', `"values":{${hashMember}`)
    expect(() => JSON.parse(nested)).not.toThrow()
    expect(readChainedLine(Buffer.from(nested), suffix)).toBeUndefined()
  })

  it('refuse a line whose hash, prev_hash or day does not hold, changing nothing', async () => {
    const { lines } = await chain(2)
    const second = Buffer.from(lines[1]!)
    const facts = readChainedLine(second, tenantSuffix('acme'))!
    const state = new ChainState(GENESIS_HASH) // not the first event's hash
    expect(acceptChainedLine(second, facts, dt, state)).toBe(false)
    expect(state.prevHash).toBe(GENESIS_HASH)
    const first = Buffer.from(lines[0]!)
    const f1 = readChainedLine(first, tenantSuffix('acme'))!
    expect(acceptChainedLine(first, f1, Buffer.from('2026-01-03'), new ChainState(GENESIS_HASH))).toBe(false)
    expect(acceptChainedLine(first, f1, dt, new ChainState(GENESIS_HASH))).toBe(true)
    const upper = Buffer.from(
      lines[0]!.replace(/"hash":"([0-9a-f]{64})"/, (_m, h: string) => `"hash":"${h.toUpperCase()}"`),
    )
    const fu = readChainedLine(upper, tenantSuffix('acme'))!
    expect(acceptChainedLine(upper, fu, dt, new ChainState(GENESIS_HASH))).toBe(false)
  })

  it('read dates only in the stored form, agreeing with a full parse', () => {
    expect(canonicalUtcDate('2026-01-02T03:04:05.000Z')).toBe('2026-01-02')
    expect(canonicalUtcDate('2026-02-30T00:00:00.000Z')).toBeUndefined()
    expect(canonicalUtcDate('2026-01-02T03:04:05Z')).toBeUndefined()
    expect(canonicalUtcDate('2026-01-02T03:04:05.000+00:00')).toBeUndefined()
    expect(canonicalUtcDate('2026-01-02T24:00:00.000Z')).toBeUndefined()
  })
})

describe('Merkle accumulator', () => {
  it('gives the RFC 6962 root at every size', () => {
    const acc = new MerkleAccumulator()
    const leaves: string[] = []
    expect(acc.root()).toBe(merkleRoot([]))
    for (let i = 0; i < 70; i++) {
      const leaf = createHash('sha256').update(`leaf ${i}`).digest()
      leaves.push(leaf.toString('hex'))
      acc.append(leaf)
      expect(acc.root()).toBe(merkleRoot(leaves))
    }
  })
})

describe('chained lines, any content', () => {
  // Text with what a byte-level reader could trip on: quotes, backslashes, control characters,
  // non-ASCII, lone surrogates, and the very key patterns the reader looks for.
  const tricky = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      ',"seq":5,',
      ',"occurred_at":"2030-01-01T00:00:00.000Z"',
      ',"tenant":"acme","v":1}',
      '"hash":"',
      '\\"',
      '\\',
      '\u2028',
      '\ud800',
      // As keys of metadata and description values: nested look-alikes of the top-level members.
      'seq',
      'occurred_at',
      'tenant',
      'hash',
      'prev_hash',
      'v',
    ),
  )
  const scalar = fc.oneof(
    tricky,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  )

  it('give the leaf and hash of a full parse, and name the same seq, for any event', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            actorName: fc.option(tricky, { nil: undefined }),
            targetId: tricky.filter((s) => s.length > 0 && s.length <= 256),
            metadata: fc.option(
              fc.dictionary(
                tricky.filter((k) => k.length > 0 && k.length <= 64),
                scalar,
                { maxKeys: 5 },
              ),
              {
                nil: undefined,
              },
            ),
            before: fc.option(fc.jsonValue(), { nil: undefined }),
            values: fc.dictionary(
              tricky.filter((k) => k.length <= 64),
              scalar,
              { maxKeys: 3 },
            ),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.constantFrom('acme', 'tenant "q"', 'ü/☃', 'a\\b'),
        async (specs, tenant) => {
          const pendings = specs.map((s, i) =>
            toPendingEvent(
              {
                id: `e${i}`,
                occurred_at: '2026-01-02T03:04:05.000Z',
                action: 'doc.updated',
                actor: { type: 'user', id: 'u1', ...(s.actorName ? { name: s.actorName } : {}) },
                target: { type: 'doc', id: s.targetId },
                changes: [{ field: 'f', before: s.before }],
                description: { template: 'x', values: s.values },
                ...(s.metadata ? { metadata: s.metadata } : {}),
              } as never,
              tenant,
              '2026-01-02T03:04:06.000Z',
              { key_id: 'k', request_id: 'r' },
            ),
          )
          const { stored, lines, leaves } = await appendToChain({ seq: 0, hash: GENESIS_HASH }, pendings)
          const state = new ChainState(GENESIS_HASH)
          for (const [i, line] of lines.entries()) {
            expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(stored[i])))
            const b = Buffer.from(line)
            const facts = readChainedLine(b, tenantSuffix(tenant))
            expect(facts?.seq).toBe(i + 1)
            expect(acceptChainedLine(b, facts!, dt, state)).toBe(true)
            expect(hexOfBinary(state.leaf)).toBe(leaves[i])
            expect(state.prevHash).toBe(stored[i]!.hash)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

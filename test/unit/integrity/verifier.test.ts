import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { archiveObjectKey, utcDate } from '../../../core/archive/layout'
import { type PendingEvent, type StoredEvent, toPendingEvent } from '../../../core/ingest/stored-event'
import { appendToChain, extendChain, GENESIS_HASH } from '../../../core/integrity/chain'
import type { PublicKeyDocument, SignedCheckpoint } from '../../../core/integrity/checkpoint'
import { signCheckpoint } from '../../../core/integrity/checkpoint'
import { loadKeyRing } from '../../../core/integrity/signing-keys'
import { type ArchiveSource, directorySource } from '../../../verifier/archive-source'
import { type TenantResult, verifyArchive } from '../../../verifier/verify-archive'
import { type TenantSpec, writeArchive } from '../../support/archive-fixture'
import { walk } from '../../support/walk'

const roots: string[] = []
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true })
}, 60_000)

const eventFiles = (root: string, tenant?: string) =>
  walk(join(root, 'events'))
    .filter((f) => f.endsWith('.ndjson.gz') && (!tenant || f.includes(`tenant=${tenant}/`)))
    .sort()
const readLines = (f: string) => gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean)
const writeLines = (f: string, lines: string[]) =>
  writeFileSync(f, gzipSync(lines.length ? `${lines.join('\n')}\n` : ''))
const allLines = (root: string, tenant: string) =>
  eventFiles(root, tenant).flatMap((f) => readLines(f).map((l, i) => ({ f, i, l })))

/** A fresh archive directory (removed after the run): by default one tenant over two days. */
async function fresh(specs: TenantSpec[] = [{ tenant: 'acme', batches: [3, 2], day: (i) => i % 2 }]) {
  const root = mkdtempSync(join(tmpdir(), 'archive-'))
  roots.push(root)
  const { keys } = await writeArchive(root, specs)
  return { root, keys }
}

const specArb = fc.record({
  a: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
  b: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
  days: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 30, maxLength: 30 }),
  cps: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
  pick: fc.nat(),
  pick2: fc.nat(),
  /** alpha's lines in field order, as archives written before the chained layout hold them. */
  legacy: fc.boolean(),
})
type Case = typeof specArb extends fc.Arbitrary<infer T> ? T : never

async function build(c: Case) {
  const day = (i: number) => c.days[i % c.days.length]!
  const specs: TenantSpec[] = [
    { tenant: 'alpha', batches: c.a, day, checkpointAfter: c.cps, legacyLines: c.legacy },
    { tenant: 'beta', batches: c.b, day },
  ]
  return fresh(specs)
}

type Mutation = (root: string, c: Case) => Promise<void> | void
const mutations: Record<string, Mutation> = {
  'change a byte': (root, c) => {
    const lines = allLines(root, 'alpha')
    const { f, i, l } = lines[c.pick % lines.length]!
    const positions = [...l].flatMap((ch, p) => (/[a-z0-9]/.test(ch) ? [p] : []))
    const p = positions[c.pick2 % positions.length]!
    const ch = l[p]!
    const repl = ch === 'a' ? 'b' : ch === '0' ? '1' : /[0-9]/.test(ch) ? '0' : 'a'
    const fileLines = readLines(f)
    fileLines[i] = l.slice(0, p) + repl + l.slice(p + 1)
    writeLines(f, fileLines)
  },
  'drop a line': (root, c) => {
    const lines = allLines(root, 'alpha')
    const { f, i } = lines[c.pick % lines.length]!
    const fileLines = readLines(f)
    fileLines.splice(i, 1)
    writeLines(f, fileLines)
  },
  'swap two lines': (root, c) => {
    const lines = allLines(root, 'alpha')
    const x = lines[c.pick % lines.length]!
    let y = lines[c.pick2 % lines.length]!
    if (x === y) y = lines[(c.pick2 + 1) % lines.length]!
    if (x === y) {
      // A one-event archive: swap the only line with beta's first.
      y = allLines(root, 'beta')[0]!
    }
    const fx = readLines(x.f)
    fx[x.i] = y.l
    writeLines(x.f, fx)
    const fy = readLines(y.f)
    fy[y.i] = x.l
    writeLines(y.f, fy)
  },
  'duplicate a line': (root, c) => {
    const lines = allLines(root, 'alpha')
    const { f, i, l } = lines[c.pick % lines.length]!
    const fileLines = readLines(f)
    fileLines.splice(i + 1, 0, l)
    writeLines(f, fileLines)
  },
  'drop the last file': (root) => {
    unlinkSync(eventFiles(root, 'alpha').at(-1)!)
  },
  'move a line to another tenant': (root, c) => {
    const lines = allLines(root, 'alpha')
    const { f, i, l } = lines[c.pick % lines.length]!
    const fileLines = readLines(f)
    fileLines.splice(i, 1)
    writeLines(f, fileLines)
    const target = eventFiles(root, 'beta')[0]!
    writeLines(target, [...readLines(target), l])
  },
  'rewrite history and re-hash the tail': async (root, c) => {
    // What someone with write access to the store could do: edit one event and recompute every
    // hash after it, so the chain itself is consistent again. Only the signed checkpoint betrays it.
    const lines = allLines(root, 'alpha')
      .map((x) => ({ ...x, e: JSON.parse(x.l) as StoredEvent }))
      .sort((a, b) => a.e.seq - b.e.seq)
    const k = c.pick % lines.length
    const before = lines[k - 1]?.e
    const head = before ? { seq: before.seq, hash: before.hash } : { seq: 0, hash: GENESIS_HASH }
    const pending = lines.slice(k).map(({ e }) => {
      const { seq: _s, hash: _h, prev_hash: _p, ...rest } = e
      return rest as PendingEvent
    })
    pending[0] = { ...pending[0]!, action: 'user.deleted' }
    const rewritten = await extendChain(head, pending)
    const byFile = new Map<string, string[]>()
    lines.slice(k).forEach((x, n) => {
      const fl = byFile.get(x.f) ?? readLines(x.f)
      fl[x.i] = JSON.stringify(rewritten[n])
      byFile.set(x.f, fl)
    })
    for (const [f, fl] of byFile) writeLines(f, fl)
  },
  'hide a file under another name': (root, c) => {
    const files = eventFiles(root, 'alpha')
    const f = files[c.pick % files.length]!
    renameSync(f, `${f}.bak`)
  },
  'replace a checkpoint': async (root, c) => {
    const files = walk(join(root, 'checkpoints')).filter((f) => f.includes('tenant=alpha/'))
    const file = files[c.pick % files.length]!
    const cp = JSON.parse(readFileSync(file, 'utf8')) as SignedCheckpoint
    if (c.pick2 % 3 === 0) {
      // Edited in place: the signature no longer covers it.
      writeFileSync(file, JSON.stringify({ ...cp, seq: cp.seq + 1 }))
    } else if (c.pick2 % 3 === 1) {
      // A genuine checkpoint, but of another tenant.
      const beta = walk(join(root, 'checkpoints')).find((f) => f.includes('tenant=beta/'))!
      writeFileSync(file, readFileSync(beta))
    } else {
      // Re-signed by a key that is not published, under the real key's id.
      const forger = (
        await loadKeyRing(
          JSON.stringify([
            {
              id: cp.key_id,
              seed: Buffer.alloc(32, 9).toString('base64url'),
              not_before: '2000-01-01T00:00:00.000Z',
            },
          ]),
        )
      )[0]!
      writeFileSync(
        file,
        JSON.stringify(await signCheckpoint({ ...cp, root: '0'.repeat(64) }, forger.privateKey!)),
      )
    }
  },
}

describe('offline verifier', () => {
  it('passes every untouched archive', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, async (c) => {
        const { root, keys } = await build(c)
        const r = await verifyArchive(root, keys)
        expect(r.break).toBeUndefined()
        expect(r.ok).toBe(true)
        expect(r.tenants.map((t) => t.events)).toEqual([c.a, c.b].map((b) => b.reduce((x, y) => x + y, 0)))
      }),
      { numRuns: 100 },
    )
  })

  for (const [name, mutate] of Object.entries(mutations)) {
    it(`catches every archive with one mutation: ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(specArb, async (c) => {
          const { root, keys } = await build(c)
          await mutate(root, c)
          const r = await verifyArchive(root, keys)
          expect(r.ok).toBe(false)
          expect(r.break?.tenant).toMatch(/alpha|beta/)
        }),
        { numRuns: 100 },
      )
    })
  }

  it('names the first break: file, line, seq, expected and found', async () => {
    const { root, keys } = await fresh([{ tenant: 'acme', batches: [3, 4], day: () => 0 }])
    const file = eventFiles(root, 'acme')[1]!
    const lines = readLines(file)
    lines[1] = lines[1]!.replace('"doc.updated"', '"doc.deleted"').replace('"user.login"', '"user.logout"')
    writeLines(file, lines)
    const r = await verifyArchive(root, keys)
    expect(r.break).toMatchObject({
      kind: 'hash_mismatch',
      tenant: 'acme',
      file: 'events/tenant=acme/dt=2026-01-01/000000000004-000000000007.ndjson.gz',
      line: 2,
      seq: 5,
    })
    expect(r.break?.expected).not.toBe(r.break?.found)
  })

  it('reports a corrupt gzip file and an unpublished key', async () => {
    const { root, keys } = await fresh([{ tenant: 'acme', batches: [5], day: () => 0 }])
    const other: PublicKeyDocument = { keys: keys.keys.map((k) => ({ ...k, id: 'rotated-away' })) }
    expect((await verifyArchive(root, other)).break).toMatchObject({ kind: 'checkpoint_invalid' })
    const file = eventFiles(root, 'acme')[0]!
    const bytes = readFileSync(file)
    bytes[bytes.length - 12] = bytes[bytes.length - 12]! ^ 0xff
    writeFileSync(file, bytes)
    const r = await verifyArchive(root, keys)
    expect(r.ok).toBe(false)
  })
})

describe('offline verifier: layout and inputs', () => {
  it('reports files that do not fit the layout instead of skipping them', async () => {
    const { root, keys } = await fresh()
    writeFileSync(join(root, 'events', 'tenant=acme', 'dt=2026-01-01', 'extra.ndjson.gz'), gzipSync('{}\n'))
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'unexpected_file',
      file: 'events/tenant=acme/dt=2026-01-01/extra.ndjson.gz',
    })
  })

  it('reports a checkpoint that is not JSON, or renamed to claim another seq', async () => {
    const { root, keys } = await fresh()
    const [cp] = walk(join(root, 'checkpoints'))
    const original = readFileSync(cp!)
    writeFileSync(cp!, '{"tenant":')
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'checkpoint_invalid',
      message: /not JSON/,
    })
    writeFileSync(cp!, original)
    renameSync(cp!, cp!.replace(/\/\d{12}-/, '/000000000002-'))
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'checkpoint_invalid',
      message: /name does not match/,
    })
  })

  it('rejects a line that is valid JSON but not a stored event, naming the field', async () => {
    const { root, keys } = await fresh()
    const file = eventFiles(root, 'acme')[0]!
    const lines = readLines(file)
    const e = JSON.parse(lines[0]!) as Record<string, unknown>
    lines[0] = JSON.stringify({ ...e, seq: 'one' })
    writeLines(file, lines)
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'malformed_line',
      line: 1,
      message: /seq/,
    })
  })

  it('checks lines past the newest checkpoint against the schema, even when correctly chained', async () => {
    // Nobody has signed for these yet, so their hash vouches for nothing: a well-linked line
    // that is not a stored event must still be named.
    const { root, keys } = await fresh([{ tenant: 'acme', batches: [3], day: () => 0 }])
    const last = JSON.parse(readLines(eventFiles(root, 'acme').at(-1)!).at(-1)!) as StoredEvent
    const bad = toPendingEvent(
      {
        id: 'acme-late',
        occurred_at: last.occurred_at,
        action: 'Not A Verb',
        actor: { type: 'user', id: 'u1' },
        target: { type: 'doc', id: 'd1' },
      } as never,
      'acme',
      last.received_at,
      { key_id: 'k', request_id: 'r' },
    )
    const { lines } = await appendToChain({ seq: last.seq, hash: last.hash }, [bad])
    const file = join(root, archiveObjectKey('acme', utcDate(last.occurred_at), 4, 4))
    writeLines(file, lines)
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'malformed_line',
      file: archiveObjectKey('acme', utcDate(last.occurred_at), 4, 4),
      line: 1,
      message: /action/,
    })
  })

  it('CLI: exits 0 on a sound archive, 1 naming the break, 2 on bad keys', async () => {
    const { root } = await fresh()
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'verifier/cli.ts', ...args], { encoding: 'utf8' })
    const ok = cli(root)
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/ok {2}acme: 5 events in 4 files, 1 checkpoints/)
    const badKeys = join(root, 'bad-keys.json')
    writeFileSync(badKeys, JSON.stringify({ keys: [{ id: 'x' }] }))
    const two = cli('--keys', badKeys, root)
    expect(two.status).toBe(2)
    expect(two.stderr).toMatch(/not a key document: keys\.0\.algorithm/)
    const file = eventFiles(root, 'acme').at(-1)!
    writeLines(file, readLines(file).slice(0, -1))
    const broken = cli(root)
    expect(broken.status).toBe(1)
    expect(broken.stderr).toMatch(/BROKEN acme: seq_mismatch/)
    expect(broken.stderr).toMatch(/file: events\/tenant=acme\/dt=/)
  }, 20_000)
})

describe('offline verifier: dates', () => {
  it('reports an occurred_at that is not a timestamp as a malformed line, not a crash', async () => {
    const { root, keys } = await fresh([{ tenant: 'acme', batches: [2], day: () => 0 }])
    const file = eventFiles(root, 'acme')[0]!
    const lines = readLines(file)
    lines[1] = lines[1]!.replace('"occurred_at":"2026-01-01', '"occurred_at":"2026-00-01')
    writeLines(file, lines)
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'malformed_line',
      line: 2,
      message: /occurred_at/,
    })
  })
})

describe('offline verifier: compaction manifests', () => {
  const manifestPath = (root: string) => join(root, 'manifests', 'tenant=acme', 'dt=2026-01-01.json')

  it('reports a manifest that is not one', async () => {
    const { root, keys } = await fresh()
    mkdirSync(dirname(manifestPath(root)), { recursive: true })
    writeFileSync(manifestPath(root), '{"files": 3}')
    expect((await verifyArchive(root, keys)).break).toMatchObject({
      kind: 'manifest_invalid',
      file: 'manifests/tenant=acme/dt=2026-01-01.json',
    })
  })

  it('cannot hide events: a manifest that supersedes a file its parts do not replace leaves a gap', async () => {
    const { root, keys } = await fresh()
    const [first, second] = eventFiles(root, 'acme').filter((f) => f.includes('dt=2026-01-01'))
    const rel = (f: string) => f.slice(root.length + 1)
    mkdirSync(dirname(manifestPath(root)), { recursive: true })
    writeFileSync(
      manifestPath(root),
      JSON.stringify({ files: [{ key: rel(second!) }], superseded: [rel(first!)] }),
    )
    expect((await verifyArchive(root, keys)).break).toMatchObject({ kind: 'seq_mismatch', expected: 1 })
  })
})

describe('offline verifier: compacted days', () => {
  it('follows a chain through a part that holds checkpoints and another day’s seqs inside its range', async () => {
    // Days alternate every three events; day 1's three files are merged into one part (seqs 1-3
    // and 7-9), as compaction writes it: the checkpoints at 2 and 9 fall inside that part, and the
    // chain leaves it for day 2 at seq 4 and comes back at 7.
    const { root, keys } = await fresh([
      {
        tenant: 'acme',
        batches: [2, 1, 3, 3, 3],
        day: (i) => Math.floor(i / 3) % 2,
        checkpointAfter: [0, 2, 3],
      },
    ])
    const day1 = eventFiles(root, 'acme').filter((f) => f.includes('dt=2026-01-01'))
    expect(day1).toHaveLength(3)
    const lines = day1.flatMap(readLines)
    for (const f of day1) unlinkSync(f)
    writeLines(join(root, archiveObjectKey('acme', '2026-01-01', 1, 9)), lines)
    const result = await verifyArchive(root, keys)
    expect(result.break).toBeUndefined()
    expect(result.tenants).toMatchObject([{ tenant: 'acme', events: 12, files: 3, checkpoints: 4 }])
    // The same part with one line edited is still caught inside it.
    const edited = [...lines]
    edited[4] = edited[4]!.replace('"title"', '"tItle"')
    writeLines(join(root, archiveObjectKey('acme', '2026-01-01', 1, 9)), edited)
    expect((await verifyArchive(root, keys)).break).toMatchObject({ kind: 'hash_mismatch', seq: 8, line: 5 })
  })
})

describe('offline verifier: every tenant, each to its first break', () => {
  /** Flips the lowest bit of one letter of the event's action (the line stays JSON). */
  const flipByte = (line: string) => {
    const at = line.indexOf('"action":"') + '"action":"'.length
    return line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ 1) + line.slice(at + 1)
  }

  /** Three tenants: alpha with a flipped byte, beta intact, gamma missing its middle file. */
  async function threeTenants() {
    const { root, keys } = await fresh([
      { tenant: 'alpha', batches: [3, 4], day: () => 0 },
      { tenant: 'beta', batches: [2, 2], day: (i) => i % 2, checkpointAfter: [0] },
      { tenant: 'gamma', batches: [2, 3, 2], day: () => 0 },
    ])
    const alphaFile = eventFiles(root, 'alpha')[1]!
    const lines = readLines(alphaFile)
    lines[1] = flipByte(lines[1]!)
    writeLines(alphaFile, lines)
    const gammaMiddle = eventFiles(root, 'gamma')[1]!
    expect(gammaMiddle).toMatch(/000000000003-000000000005\.ndjson\.gz$/)
    unlinkSync(gammaMiddle)
    return { root, keys }
  }

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'verifier/cli.ts', ...args], { encoding: 'utf8' })

  it('reports each broken tenant at its own first break, and the intact one as sound', async () => {
    const { root, keys } = await threeTenants()
    const r = await verifyArchive(root, keys)
    expect(r.ok).toBe(false)
    expect(r.tenants.map((t) => [t.tenant, t.ok])).toEqual([
      ['alpha', false],
      ['beta', true],
      ['gamma', false],
    ])
    const [alpha, beta, gamma] = r.tenants as [TenantResult, TenantResult, TenantResult]
    expect(alpha).toMatchObject({ events: 4, files: 2, checkpoints: 0 })
    expect(alpha.break).toMatchObject({
      kind: 'hash_mismatch',
      tenant: 'alpha',
      file: 'events/tenant=alpha/dt=2026-01-01/000000000004-000000000007.ndjson.gz',
      line: 2,
      seq: 5,
    })
    expect(alpha.break?.expected).not.toBe(alpha.break?.found)
    expect(beta).toMatchObject({ ok: true, events: 4, files: 4, checkpoints: 2 })
    expect(beta.break).toBeUndefined()
    expect(beta.head).toMatch(/^[0-9a-f]{64}$/)
    expect(gamma).toMatchObject({ events: 2, files: 2, checkpoints: 0 })
    expect(gamma.break).toMatchObject({
      kind: 'seq_mismatch',
      tenant: 'gamma',
      file: 'events/tenant=gamma/dt=2026-01-01/000000000006-000000000007.ndjson.gz',
      line: 1,
      seq: 6,
      expected: 3,
      found: 6,
    })
    expect(alpha.head).toBeUndefined()
    // The run's first break is the first broken tenant's.
    expect(r.break).toEqual(alpha.break)
    expect(r.outside).toBeUndefined()
  })

  it('CLI: one line per tenant, the breaks named, exit 1', async () => {
    const { root } = await threeTenants()
    const out = cli(root)
    expect(out.status).toBe(1)
    const status = [...out.stdout.split('\n'), ...out.stderr.split('\n')].filter((l) =>
      /^(ok {2}|BROKEN )\w+:/.test(l),
    )
    expect(status.sort()).toEqual([
      expect.stringMatching(/^BROKEN alpha: hash_mismatch: event content does not match its hash$/),
      expect.stringMatching(/^BROKEN gamma: seq_mismatch: expected seq 3$/),
      expect.stringMatching(/^ok {2}beta: 4 events in 4 files, 2 checkpoints, head [0-9a-f]{64}$/),
    ])
    expect(out.stderr).toMatch(
      /file: events\/tenant=alpha\/dt=2026-01-01\/000000000004-000000000007\.ndjson\.gz, line 2/,
    )
    expect(out.stderr).toMatch(
      /file: events\/tenant=gamma\/dt=2026-01-01\/000000000006-000000000007\.ndjson\.gz, line 1/,
    )
    expect(out.stderr).toMatch(/BROKEN: 2 of 3 tenants; 10 events verified/)
    expect(out.stdout).not.toMatch(/^verified/m)
  }, 20_000)

  it('CLI --json: one object per tenant and a summary, exit 1', async () => {
    const { root, keys } = await threeTenants()
    const out = cli(root, '--json')
    expect(out.status).toBe(1)
    const objects = out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const r = await verifyArchive(root, keys)
    expect(objects.slice(0, 3)).toEqual(r.tenants.map((t) => ({ type: 'tenant', ...t })))
    expect(objects[3]).toMatchObject({
      type: 'summary',
      ok: false,
      tenants: 3,
      broken: 2,
      outside: false,
      events: 10,
      warnings: r.warnings,
    })
    expect(objects).toHaveLength(4)
    // A sound archive: exit 0, every tenant ok.
    const sound = await fresh()
    const ok = cli(sound.root, '--json')
    expect(ok.status).toBe(0)
    const lines = ok.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toMatchObject([
      { type: 'tenant', tenant: 'acme', ok: true, events: 5, files: 4, checkpoints: 1 },
      { type: 'summary', ok: true, tenants: 1, broken: 0, events: 5 },
    ])
  }, 20_000)

  it('keeps a layout break inside its tenant, and reports an object outside every tenant on its own', async () => {
    const { root, keys } = await fresh([
      { tenant: 'alpha', batches: [2], day: () => 0 },
      { tenant: 'beta', batches: [3], day: () => 0 },
      { tenant: 'gamma', batches: [1, 1], day: () => 0 },
    ])
    writeFileSync(join(root, 'events', 'tenant=alpha', 'dt=2026-01-01', 'extra.ndjson.gz'), gzipSync('{}\n'))
    mkdirSync(join(root, 'manifests', 'tenant=gamma'), { recursive: true })
    writeFileSync(join(root, 'manifests', 'tenant=gamma', 'dt=2026-01-01.json'), '{"files": 3}')
    const r = await verifyArchive(root, keys)
    expect(r.tenants).toMatchObject([
      { tenant: 'alpha', ok: false, events: 0, files: 0, checkpoints: 0 },
      { tenant: 'beta', ok: true, events: 3, files: 1, checkpoints: 1 },
      { tenant: 'gamma', ok: false, events: 0 },
    ])
    expect(r.tenants[0]!.break).toMatchObject({
      kind: 'unexpected_file',
      tenant: 'alpha',
      file: 'events/tenant=alpha/dt=2026-01-01/extra.ndjson.gz',
    })
    expect(r.tenants[2]!.break).toMatchObject({
      kind: 'manifest_invalid',
      tenant: 'gamma',
      file: 'manifests/tenant=gamma/dt=2026-01-01.json',
    })
    expect(r.break).toEqual(r.tenants[0]!.break)

    // An object in no tenant's directory belongs to none: every tenant is still verified.
    const sound = await fresh([
      { tenant: 'alpha', batches: [2], day: () => 0 },
      { tenant: 'beta', batches: [3], day: () => 0 },
    ])
    writeFileSync(join(sound.root, 'events', 'stray.ndjson.gz'), gzipSync('{}\n'))
    const s = await verifyArchive(sound.root, sound.keys)
    expect(s.ok).toBe(false)
    expect(s.tenants.map((t) => [t.tenant, t.ok, t.events])).toEqual([
      ['alpha', true, 2],
      ['beta', true, 3],
    ])
    expect(s.outside).toMatchObject({ kind: 'unexpected_file', tenant: '', file: 'events/stray.ndjson.gz' })
    expect(s.break).toEqual(s.outside)
    const out = cli(sound.root)
    expect(out.status).toBe(1)
    expect(out.stderr).toMatch(/BROKEN outside any tenant: unexpected_file: events\/stray\.ndjson\.gz/)
    expect(out.stdout).toMatch(/ok {2}alpha: 2 events/)
    expect(out.stdout).toMatch(/ok {2}beta: 3 events/)
  }, 20_000)

  it("names an object the store will not serve as its tenant's break; a refused listing fails the run", async () => {
    const { root, keys } = await fresh([
      { tenant: 'alpha', batches: [2], day: () => 0 },
      { tenant: 'beta', batches: [3], day: () => 0 },
    ])
    const dir = directorySource(root)
    const failing: ArchiveSource = {
      ...dir,
      open: (key) =>
        key.includes('tenant=alpha/') ? Promise.reject(new Error('403 Forbidden')) : dir.open(key),
    }
    const r = await verifyArchive(failing, keys)
    expect(r.tenants).toMatchObject([
      { tenant: 'alpha', ok: false, events: 0, break: { kind: 'unreadable_file', message: /403 Forbidden/ } },
      { tenant: 'beta', ok: true, events: 3 },
    ])
    const unlisted: ArchiveSource = {
      ...dir,
      list: (prefix) =>
        prefix === 'checkpoints/' ? Promise.reject(new Error('AccessDenied')) : dir.list(prefix),
    }
    await expect(verifyArchive(unlisted, keys)).rejects.toThrow(/AccessDenied/)
  })

  it('a mutation of one tenant never changes the verdict on the other', async () => {
    // Every mutation but those that also write to beta's files.
    const alphaOnly = Object.entries(mutations).filter(
      ([name]) => name !== 'move a line to another tenant' && name !== 'swap two lines',
    )
    for (const [name, mutate] of alphaOnly) {
      await fc.assert(
        fc.asyncProperty(specArb, async (c) => {
          const { root, keys } = await build(c)
          const before = await verifyArchive(root, keys)
          await mutate(root, c)
          const r = await verifyArchive(root, keys)
          // Removed at once: this property builds many archives.
          roots.splice(roots.indexOf(root), 1)
          rmSync(root, { recursive: true, force: true })
          expect(r.ok, name).toBe(false)
          expect(r.tenants.map((t) => t.tenant)).toEqual(['alpha', 'beta'])
          const [alpha, beta] = r.tenants as [TenantResult, TenantResult]
          expect(alpha.ok, name).toBe(false)
          expect(alpha.break?.tenant).toBe('alpha')
          expect(r.break).toEqual(alpha.break)
          expect(beta, name).toEqual(before.tenants[1])
        }),
        { numRuns: 20 },
      )
    }
  }, 120_000)
})

// Offline verification of an archive copy (the R2/S3 layout on disk, verifier/archive-layout.ts)
// with nothing but the archive and the published public keys. Invariants checked, per tenant:
// - every line is a stored event (core/ingest/stored-event.ts) of that tenant, in the partition of its
//   occurred_at date, inside the seq range its file name states; or, in a tombstones file, the
//   tombstone of an expired event (core/retention/tombstone.ts), which links like the event did and
//   whose leaf is the event's Merkle leaf (counted per class in `expired`);
// - seqs run 1, 2, 3, ... across all files and partitions, each exactly once;
// - prev_hash and hash link every event to the one before (core/integrity/chain.ts);
// - every checkpoint is well formed, named after its own seq and time, signed by a published key
//   valid at its time, and matches the chain's hash and Merkle root at its seq; the chain reaches
//   the newest checkpoint (no cut tail).
// A line in the consumer's chained layout is checked from its bytes (verifier/next-link.ts); any
// other line, and any line whose check fails, is parsed and checked field by field, which either
// accepts it or names the break. Both paths accept exactly the same lines of a sound archive.
// It streams: only names are listed up front; a file is open only while the chain is inside its
// seq range and is read line by line; the running state is the previous hash and the Merkle
// frontier. Compaction manifests are honoured (verifier/archive-layout.ts).
// Tenants are independent: each is verified to its end or to its first break, which is reported
// as that tenant's; a break in one never stops the others.
import { GENESIS_HASH } from '../core/integrity/chain'
import { checkCheckpoint, type PublicKeyDocument, type SignedCheckpoint } from '../core/integrity/checkpoint'
import { MerkleAccumulator } from '../core/integrity/merkle'
import { type BrokenTenantLayout, type CheckpointFile, readLayout, type TenantLayout } from './archive-layout'
import { type ArchiveSource, directorySource } from './archive-source'
import { type Break, ChainBreak } from './breaks'
import { ChainState, canonicalUtcDate, tenantSuffix } from './fast-line'
import { advance, advanceSync, type Cursor } from './file-cursor'
import { LineReader } from './line-reader'
import { checkParsedLine, type Run, takeOnBytes, takeRun } from './next-link'

export type { Break, BreakKind } from './breaks'

/** One tenant's verdict. */
export type TenantResult = {
  tenant: string
  /** The whole chain verified, with no break. */
  ok: boolean
  /** Seqs 1..events verified: the whole chain, or the links before the break. */
  events: number
  /** Event files the layout lists for the tenant (after compaction manifests); 0 when its layout is broken. */
  files: number
  /** Checkpoints that matched the chain: all of them, or those before the break. */
  checkpoints: number
  /** The hash of the chain's last event (a sound tenant with events). */
  head?: string
  /** Expired events (tombstones) among those verified, per retention class; absent when none. */
  expired?: Record<string, number>
  /** The tenant's first break. */
  break?: Break
}
/** @deprecated the same as TenantResult. */
export type TenantSummary = TenantResult
export type VerifyResult = {
  /** Every tenant sound and nothing outside them. */
  ok: boolean
  /** Every tenant, sound or broken, in tenant directory order. */
  tenants: TenantResult[]
  /** The first object in no tenant's directory (events/ or checkpoints/ keys of another shape). */
  outside?: Break
  /** The run's first break: `outside`, else the first broken tenant's. */
  break?: Break
  warnings: string[]
}

async function readCheckpoint(
  source: ArchiveSource,
  f: CheckpointFile,
  tenant: string,
  keys: PublicKeyDocument,
) {
  const invalid = (why: string) =>
    new ChainBreak({
      kind: 'checkpoint_invalid',
      tenant,
      file: f.rel,
      seq: f.seq,
      message: `${f.rel}: ${why}`,
    })
  let cp: SignedCheckpoint
  try {
    cp = JSON.parse((await source.read(f.rel)).toString('utf8')) as SignedCheckpoint
  } catch {
    throw invalid('not JSON')
  }
  const problem = await checkCheckpoint(cp, keys)
  if (problem) throw invalid(problem)
  if (cp.tenant !== tenant) throw invalid(`a checkpoint of tenant ${cp.tenant}`)
  if (cp.seq !== f.seq || cp.time.replace(/[-:.]/g, '') !== f.compactTime)
    throw invalid('its name does not match its seq and time')
  return cp
}

/** Verifies one tenant's chain to its end, or to its first break, which it returns. */
async function verifyTenant(
  source: ArchiveSource,
  layout: TenantLayout | BrokenTenantLayout,
  keys: PublicKeyDocument,
): Promise<TenantResult> {
  if ('break' in layout)
    return { tenant: layout.tenant, ok: false, events: 0, files: 0, checkpoints: 0, break: layout.break }
  const { tenant, events: files, checkpoints: cps } = layout
  // The previous hash lives in `chain` as bytes; its hex form is made only when needed.
  const chain = new ChainState(GENESIS_HASH)
  const prevHashHex = () => chain.prevHash
  const tree = new MerkleAccumulator()
  const suffix = tenantSuffix(tenant)
  let nextCp = 0
  let matched = 0
  // The byte path rests on a signature: lines past the newest checkpoint, which nobody has
  // signed for, are all read the slow way (schema included).
  const attested = cps.at(-1)?.seq ?? 0
  let lastFile: string | undefined
  const settleCheckpointsUpTo = async (seq: number) => {
    while (nextCp < cps.length && cps[nextCp]!.seq <= seq) {
      const f = cps[nextCp++]!
      const cp = await readCheckpoint(source, f, tenant, keys)
      const root = tree.root()
      const prevHash = prevHashHex()
      if (cp.hash !== prevHash || cp.root !== root) {
        throw new ChainBreak({
          kind: 'checkpoint_mismatch',
          tenant,
          file: f.rel,
          seq: cp.seq,
          expected: `hash ${prevHash} root ${root}`,
          found: `hash ${cp.hash} root ${cp.root}`,
          message: `checkpoint at seq ${cp.seq} does not match the chain${lastFile ? ` (read up to ${lastFile})` : ''}`,
        })
      }
      matched++
    }
  }
  // A k-way merge by seq over all files, opening a file only once the chain reaches the first seq
  // its name states and closing it when it ends: few files are open at a time, however large the
  // archive. (A consumer batch spanning days, or a compacted day, interleaves files by seq.)
  // The file after the newest open one starts decompressing early, so the chain does not wait for
  // its first chunk when it gets there (one file ahead: memory stays bounded).
  let ahead: { index: number; lines: LineReader } | undefined
  const open = async (index: number) => {
    const file = files[index]!
    if (ahead && ahead.index !== index) await ahead.lines.close()
    const lines = ahead?.index === index ? ahead.lines : new LineReader(source.open(file.rel))
    ahead =
      index + 1 < files.length
        ? { index: index + 1, lines: new LineReader(source.open(files[index + 1]!.rel)) }
        : undefined
    const dt = canonicalUtcDate(`${file.dt}T00:00:00.000Z`) === file.dt ? Buffer.from(file.dt) : undefined
    const c: Cursor = { file, lineNo: 0, lines, current: undefined, dt }
    active.push(c)
    await advance(c, tenant, suffix)
  }
  const run: Run = { tenant, expected: 1, stop: 0, attested, chain, tree, suffix, expired: {} }
  const active: Cursor[] = []
  const closing = new Set<Promise<void>>()
  let nextFile = 0
  // A break ends this tenant only: it is returned as the tenant's, with how far the chain held.
  try {
    await settleCheckpointsUpTo(0)
    try {
      for (;;) {
        while (nextFile < files.length && files[nextFile]!.first <= run.expected) await open(nextFile++)
        let c: Cursor | undefined = active.length === 1 ? active[0] : undefined
        if (!c?.current) {
          c = undefined
          for (const x of active) if (x.current && (!c || x.current.seq < c.current!.seq)) c = x
        }
        if (!c) {
          if (nextFile >= files.length) break
          // The next file starts past the expected seq: read it, so the gap is named at its first line.
          await open(nextFile++)
          continue
        }
        // With one file open nothing interleaves: a run takes what the byte path accepts. Any other
        // line is decided alone: the byte path, else the slow path, which accepts it or names the break.
        const before = run.expected
        let state: 'left' | 'taken' = 'left'
        if (active.length === 1) {
          run.stop = Math.min(
            nextFile < files.length ? files[nextFile]!.first : Number.POSITIVE_INFINITY,
            nextCp < cps.length ? cps[nextCp]!.seq + 1 : Number.POSITIVE_INFINITY,
          )
          state = takeRun(c, run)
        } else if (takeOnBytes(c, run)) state = 'taken'
        if (state === 'left' && c.current) checkParsedLine(c, run)
        if (run.expected > before) lastFile = c.file.rel
        if (state === 'taken' || c.current) {
          if (nextCp < cps.length && cps[nextCp]!.seq < run.expected)
            await settleCheckpointsUpTo(run.expected - 1)
          if (!advanceSync(c, tenant, suffix)) await advance(c, tenant, suffix)
        }
        if (!c.current) {
          active.splice(active.indexOf(c), 1)
          // The chain goes on while the file closes; every close is awaited before returning.
          const done = c.lines.close().finally(() => closing.delete(done))
          closing.add(done)
        }
      }
    } finally {
      await Promise.all([...active.map((c) => c.lines.close()), ahead?.lines.close(), ...closing])
    }
    // Checkpoints beyond the chain: each must still be genuine before it can prove a cut tail.
    const lastSeq = run.expected - 1
    let newest: SignedCheckpoint | undefined
    for (; nextCp < cps.length; nextCp++) newest = await readCheckpoint(source, cps[nextCp]!, tenant, keys)
    if (newest) {
      throw new ChainBreak({
        kind: 'truncated',
        tenant,
        seq: lastSeq + 1,
        expected: newest.seq,
        found: lastSeq,
        message: `the chain ends at seq ${lastSeq}, but a checkpoint of ${newest.time} covers seq ${newest.seq}`,
      })
    }
  } catch (err) {
    if (!(err instanceof ChainBreak)) throw err
    const held = { tenant, ok: false, events: run.expected - 1, files: files.length, checkpoints: matched }
    return { ...held, ...expiredOf(run), break: err.detail }
  }
  const lastSeq = run.expected - 1
  const summary = {
    tenant,
    ok: true,
    events: lastSeq,
    files: files.length,
    checkpoints: cps.length,
    ...expiredOf(run),
  }
  return lastSeq > 0 ? { ...summary, head: prevHashHex() } : summary
}

function expiredOf(run: Run): { expired?: Record<string, number> } {
  return Object.keys(run.expired).length > 0 ? { expired: { ...run.expired } } : {}
}

/**
 * Verifies every tenant of an archive (a directory holding a copy of the bucket, or an
 * ArchiveSource such as the bucket over S3): each to its end or its first break, which is named
 * in that tenant's result; a broken tenant does not stop the others. Errors of the source itself
 * (a listing the store refuses) are thrown, not reported as breaks.
 */
export async function verifyArchive(
  archive: string | ArchiveSource,
  keys: PublicKeyDocument,
): Promise<VerifyResult> {
  const source = typeof archive === 'string' ? directorySource(archive) : archive
  const layout = await readLayout(source)
  const result: VerifyResult = { ok: true, tenants: [], warnings: [] }
  for (const t of layout.tenants) {
    const r = await verifyTenant(source, t, keys)
    if (r.ok && r.checkpoints === 0)
      result.warnings.push(`tenant ${r.tenant} has no checkpoint: a cut tail would go unnoticed`)
    result.tenants.push(r)
  }
  const first = layout.outside ?? result.tenants.find((t) => t.break)?.break
  if (layout.outside) result.outside = layout.outside
  if (first) {
    result.ok = false
    result.break = first
  }
  if (layout.tenants.length === 0 && !layout.outside)
    result.warnings.push('no events/ or checkpoints/ directory: nothing was verified')
  return result
}

// Offline verification of an archive copy (the R2/S3 layout on disk) with nothing but the
// archive and the published public keys. Invariants checked, per tenant:
// - every line is a stored event of that tenant, in the partition of its occurred_at date;
// - seqs run 1, 2, 3, ... across all files and partitions, each exactly once;
// - prev_hash and hash link every event to the one before (core/integrity/chain.ts);
// - every checkpoint is signed by a published key valid at its time, and matches the chain's
//   hash and Merkle root at its seq; the chain reaches the newest checkpoint (no cut tail).
// It streams: files are read chunk by chunk, and a file is open only while the chain is inside
// its seq range. Compaction manifests are honoured (core/archive/compaction.ts).
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { createGunzip } from 'node:zlib'
import { GENESIS_HASH, hashedContent, leafHashSync, linkHashSync } from '../core/integrity/chain'
import { checkCheckpoint, type PublicKeyDocument, type SignedCheckpoint } from '../core/integrity/checkpoint'
import { appendLeaf, type Frontier, frontierRoot } from '../core/integrity/merkle'
import { utcDate } from '../core/partition'
import type { StoredEvent } from '../core/stored-event'

export type BreakKind =
  | 'unreadable_file'
  | 'malformed_line'
  | 'wrong_tenant'
  | 'wrong_partition'
  | 'outside_file_range'
  | 'seq_mismatch'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'checkpoint_invalid'
  | 'checkpoint_mismatch'
  | 'truncated'

export type Break = {
  kind: BreakKind
  tenant: string
  file?: string
  line?: number
  seq?: number
  expected?: string | number
  found?: string | number
  message: string
}

export type VerifyResult = {
  ok: boolean
  tenants: { tenant: string; events: number; files: number; checkpoints: number; head?: string }[]
  break?: Break
  warnings: string[]
}

class ChainBreak extends Error {
  constructor(readonly detail: Break) {
    super(detail.message)
  }
}

const FILE_RE = /^(\d{12})-(\d{12})\.ndjson\.gz$/

type ArchiveFile = { path: string; rel: string; dt: string; first: number; last: number }

function subdirs(dir: string, prefix: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith(prefix))
    .map((d) => d.name.slice(prefix.length))
}

/** Files a compaction manifest says are superseded, once every part it names exists. */
function supersededFiles(root: string, tenantDir: string, dt: string): Set<string> {
  const path = join(root, 'manifests', `tenant=${tenantDir}`, `dt=${dt}.json`)
  if (!existsSync(path)) return new Set()
  const m = JSON.parse(readFileSync(path, 'utf8')) as { files: { key: string }[]; superseded: string[] }
  if (!m.files.every((f) => existsSync(join(root, f.key)))) return new Set()
  return new Set(m.superseded)
}

function eventFiles(root: string, tenantDir: string): ArchiveFile[] {
  const base = join(root, 'events', `tenant=${tenantDir}`)
  const out: ArchiveFile[] = []
  for (const dt of subdirs(base, 'dt=')) {
    const skip = supersededFiles(root, tenantDir, dt)
    for (const name of readdirSync(join(base, `dt=${dt}`))) {
      if (skip.has(`events/tenant=${tenantDir}/dt=${dt}/${name}`)) continue
      const m = FILE_RE.exec(name)
      if (!m) continue
      out.push({
        path: join(base, `dt=${dt}`, name),
        rel: `events/tenant=${tenantDir}/dt=${dt}/${name}`,
        dt,
        first: Number(m[1]),
        last: Number(m[2]),
      })
    }
  }
  return out.sort((a, b) => a.first - b.first || a.dt.localeCompare(b.dt))
}

function loadCheckpoints(root: string, tenantDir: string): { cp: SignedCheckpoint; rel: string }[] {
  const dir = join(root, 'checkpoints', `tenant=${tenantDir}`)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => ({
      cp: JSON.parse(readFileSync(join(dir, n), 'utf8')) as SignedCheckpoint,
      rel: `checkpoints/tenant=${tenantDir}/${n}`,
    }))
    .sort((a, b) => a.cp.seq - b.cp.seq || a.cp.time.localeCompare(b.cp.time))
}

/** Lines of a gzip file, read in chunks: only the current chunk is held in memory. */
class LineReader {
  private readonly chunks: AsyncIterator<Buffer>
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''
  private lines: string[] = []
  private idx = 0
  private ended = false

  constructor(path: string) {
    this.chunks = createReadStream(path).pipe(createGunzip())[Symbol.asyncIterator]()
  }

  async next(): Promise<IteratorResult<string>> {
    while (this.idx >= this.lines.length) {
      if (this.ended) {
        if (this.rest === '') return { done: true, value: undefined }
        const last = this.rest
        this.rest = ''
        return { done: false, value: last }
      }
      const r = await this.chunks.next()
      if (r.done) {
        this.ended = true
        this.rest += this.decoder.end()
        continue
      }
      const parts = (this.rest + this.decoder.write(r.value)).split('\n')
      this.rest = parts.pop() ?? ''
      this.lines = parts
      this.idx = 0
    }
    return { done: false, value: this.lines[this.idx++]! }
  }
}

const HEX64 = /^[0-9a-f]{64}$/

/** The fields the chain checks rely on; everything else is covered by the hash itself. */
function asStoredEvent(v: unknown): StoredEvent | string {
  const e = v as Partial<StoredEvent> | null
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not an object'
  if (typeof e.tenant !== 'string') return 'tenant missing'
  if (!Number.isSafeInteger(e.seq)) return 'seq missing'
  if (typeof e.occurred_at !== 'string' || Number.isNaN(Date.parse(e.occurred_at)))
    return 'occurred_at missing'
  if (typeof e.hash !== 'string' || !HEX64.test(e.hash)) return 'hash missing'
  if (typeof e.prev_hash !== 'string' || !HEX64.test(e.prev_hash)) return 'prev_hash missing'
  return e as StoredEvent
}

type Cursor = {
  file: ArchiveFile
  lines: LineReader
  lineNo: number
  current?: { event: StoredEvent; lineNo: number }
}

async function advance(c: Cursor, tenant: string): Promise<void> {
  for (;;) {
    let r: IteratorResult<string>
    try {
      r = await c.lines.next()
    } catch (err) {
      throw new ChainBreak({
        kind: 'unreadable_file',
        tenant,
        file: c.file.rel,
        message: `cannot read ${c.file.rel}: ${(err as Error).message}`,
      })
    }
    if (r.done) {
      c.current = undefined
      return
    }
    c.lineNo++
    if (r.value === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(r.value)
    } catch {
      throw new ChainBreak({
        kind: 'malformed_line',
        tenant,
        file: c.file.rel,
        line: c.lineNo,
        message: 'line is not JSON',
      })
    }
    const ev = asStoredEvent(parsed)
    if (typeof ev === 'string') {
      throw new ChainBreak({
        kind: 'malformed_line',
        tenant,
        file: c.file.rel,
        line: c.lineNo,
        message: `line is not a stored event: ${ev}`,
      })
    }
    c.current = { event: ev, lineNo: c.lineNo }
    return
  }
}

async function verifyTenant(root: string, tenantDir: string, keys: PublicKeyDocument) {
  const tenant = decodeURIComponent(tenantDir)
  const files = eventFiles(root, tenantDir)
  const cps = loadCheckpoints(root, tenantDir)
  for (const { cp, rel } of cps) {
    const problem = cp.tenant === tenant ? await checkCheckpoint(cp, keys) : 'wrong tenant'
    if (problem)
      throw new ChainBreak({
        kind: 'checkpoint_invalid',
        tenant,
        file: rel,
        seq: cp.seq,
        message: `checkpoint ${rel} is not valid: ${problem}`,
      })
  }
  let expectedSeq = 1
  let prevHash = GENESIS_HASH
  let frontier: Frontier = []
  let nextCp = 0
  const checkCheckpointsAt = (seq: number, file: string) => {
    while (nextCp < cps.length && cps[nextCp]!.cp.seq <= seq) {
      const { cp, rel } = cps[nextCp]!
      const root = frontierRoot(frontier)
      if (cp.seq === 0 ? cp.hash !== GENESIS_HASH : cp.hash !== prevHash || cp.root !== root) {
        throw new ChainBreak({
          kind: 'checkpoint_mismatch',
          tenant,
          file: rel,
          seq: cp.seq,
          expected: `hash ${prevHash} root ${root}`,
          found: `hash ${cp.hash} root ${cp.root}`,
          message: `checkpoint at seq ${cp.seq} does not match the chain (last file read: ${file})`,
        })
      }
      nextCp++
    }
  }
  // A k-way merge by seq over all files, opening a file only once the chain reaches the first
  // seq its name states (its smallest): few files are open at a time, whatever the archive size.
  const open = async (file: ArchiveFile) => {
    const c: Cursor = { file, lineNo: 0, lines: new LineReader(file.path) }
    await advance(c, tenant)
    return c
  }
  const active: Cursor[] = []
  let nextFile = 0
  for (;;) {
    while (nextFile < files.length && files[nextFile]!.first <= expectedSeq)
      active.push(await open(files[nextFile++]!))
    let live = active.filter((c) => c.current)
    if (live.length === 0) {
      if (nextFile >= files.length) break
      active.push(await open(files[nextFile++]!))
      live = active.filter((c) => c.current)
      if (live.length === 0) continue
    }
    const c = live.reduce((x, y) => (y.current!.event.seq < x.current!.event.seq ? y : x))
    const { event: e, lineNo } = c.current!
    const at = { tenant, file: c.file.rel, line: lineNo, seq: e.seq }
    if (e.tenant !== tenant)
      throw new ChainBreak({
        ...at,
        kind: 'wrong_tenant',
        expected: tenant,
        found: e.tenant,
        message: 'event of another tenant',
      })
    if (utcDate(e.occurred_at) !== c.file.dt) {
      throw new ChainBreak({
        ...at,
        kind: 'wrong_partition',
        expected: utcDate(e.occurred_at),
        found: c.file.dt,
        message: 'event in the wrong dt partition',
      })
    }
    if (e.seq < c.file.first || e.seq > c.file.last) {
      throw new ChainBreak({
        ...at,
        kind: 'outside_file_range',
        expected: `${c.file.first}-${c.file.last}`,
        found: e.seq,
        message: 'seq outside the range its file name states',
      })
    }
    if (e.seq !== expectedSeq)
      throw new ChainBreak({
        ...at,
        kind: 'seq_mismatch',
        expected: expectedSeq,
        found: e.seq,
        message: `expected seq ${expectedSeq}, found ${e.seq}`,
      })
    if (e.prev_hash !== prevHash)
      throw new ChainBreak({
        ...at,
        kind: 'prev_hash_mismatch',
        expected: prevHash,
        found: e.prev_hash,
        message: 'prev_hash does not link to the previous event',
      })
    const leaf = leafHashSync(hashedContent(e))
    const hash = linkHashSync(prevHash, leaf)
    if (hash !== e.hash)
      throw new ChainBreak({
        ...at,
        kind: 'hash_mismatch',
        expected: hash,
        found: e.hash,
        message: 'event content does not match its hash',
      })
    frontier = appendLeaf(frontier, leaf)
    prevHash = hash
    expectedSeq++
    checkCheckpointsAt(e.seq, c.file.rel)
    await advance(c, tenant)
    if (!c.current) active.splice(active.indexOf(c), 1)
  }
  const lastSeq = expectedSeq - 1
  const newest = cps[cps.length - 1]?.cp
  if (newest && newest.seq > lastSeq) {
    throw new ChainBreak({
      kind: 'truncated',
      tenant,
      seq: lastSeq + 1,
      expected: newest.seq,
      found: lastSeq,
      message: `the chain ends at seq ${lastSeq}, but a checkpoint of ${newest.time} covers seq ${newest.seq}`,
    })
  }
  return {
    tenant,
    events: lastSeq,
    files: files.length,
    checkpoints: cps.length,
    head: lastSeq > 0 ? prevHash : undefined,
  }
}

export async function verifyArchive(root: string, keys: PublicKeyDocument): Promise<VerifyResult> {
  const tenants = [
    ...new Set([
      ...subdirs(join(root, 'events'), 'tenant='),
      ...subdirs(join(root, 'checkpoints'), 'tenant='),
    ]),
  ].sort()
  const result: VerifyResult = { ok: true, tenants: [], warnings: [] }
  for (const t of tenants) {
    try {
      const r = await verifyTenant(root, t, keys)
      if (r.checkpoints === 0)
        result.warnings.push(`tenant ${r.tenant} has no checkpoint: a cut tail would go unnoticed`)
      result.tenants.push(r)
    } catch (err) {
      if (!(err instanceof ChainBreak)) throw err
      return { ...result, ok: false, break: err.detail }
    }
  }
  return result
}

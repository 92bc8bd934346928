// Checks a receipt (the answer of GET /v1/events/:id/proof) in the browser with Web Crypto,
// against the published keys (GET /.well-known/audit-log-keys). The same checks, in the same
// order and with the same problem kinds, as the offline verifier's verifier/check-proof.ts
// (a unit test runs both on the same good and tampered receipts):
// - leaf  = SHA-256(0x00 || JCS(record without hash, prev_hash)), equal to the stated leaf;
// - chain = SHA-256(0x02 || prev_hash || leaf), equal to the record's hash;
// - the checkpoint is signed (Ed25519, over JCS of every field but signature) by a published
//   key whose window holds the checkpoint's time, and is of the record's tenant;
// - the audit path places the leaf at seq - 1 in the checkpoint's tree and folds to its root
//   (RFC 9162 2.1.3.2); at the checkpoint's own seq, the record's hash is the checkpoint's.
import canonicalize from 'canonicalize'

/** The problem kinds of verifier/check-proof.ts (ProofProblemKind), the same words. */
export type ProofProblemKind =
  | 'malformed'
  | 'leaf_mismatch'
  | 'hash_mismatch'
  | 'checkpoint_invalid'
  | 'wrong_tenant'
  | 'wrong_position'
  | 'checkpoint_mismatch'
  | 'not_included'
export type ProofProblem = { kind: ProofProblemKind; message: string; expected?: string; found?: string }

export type Checkpoint = {
  tenant: string
  seq: number
  hash: string
  root: string
  time: string
  key_id: string
  signature: string
}
export type KeyRing = {
  keys: { id: string; algorithm: string; public_key: string; not_before: string; not_after?: string }[]
  development?: boolean
}

export type ReceiptCheck =
  | { ok: true; passed: string[]; seq: number; checkpoint: { seq: number; time: string; key_id: string } }
  | { ok: false; passed: string[]; problem: ProofProblem }

const HEX = /^[0-9a-f]{64}$/
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const enc = new TextEncoder()

function bytesOfHex(hex: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(hex.length / 2)
  for (let i = 0; i < b.length; i++) b[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return b
}
function hexOf(b: ArrayBuffer): string {
  return [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('')
}
function fromB64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(
    s
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(s.length / 4) * 4, '='),
  )
  return Uint8Array.from(bin, (c) => c.charCodeAt(0))
}
function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  return hexOf(await crypto.subtle.digest('SHA-256', concat(...parts)))
}
const jcs = (v: unknown): Uint8Array<ArrayBuffer> => new Uint8Array(enc.encode(canonicalize(v) ?? ''))

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isPosInt = (v: unknown, min = 1): v is number => Number.isSafeInteger(v) && (v as number) >= min

/** The shape of a receipt, or what is wrong with it. */
function shapeProblem(doc: unknown): string | null {
  if (!isObj(doc)) return 'not a JSON object'
  const { record: r, checkpoint: c, inclusion_proof: p } = doc
  if (!isObj(r)) return 'record is missing'
  if (typeof r.id !== 'string' || typeof r.tenant !== 'string') return 'record has no id or tenant'
  if (!isPosInt(r.seq)) return 'record.seq is not a positive integer'
  if (typeof r.hash !== 'string' || !HEX.test(r.hash)) return 'record.hash is not 64 lower-case hex digits'
  if (typeof r.prev_hash !== 'string' || !HEX.test(r.prev_hash))
    return 'record.prev_hash is not 64 lower-case hex digits'
  if (!isObj(c)) return 'checkpoint is missing'
  if (!isObj(p)) return 'inclusion_proof is missing'
  if (!isPosInt(p.leaf_index, 0) || !isPosInt(p.tree_size)) return 'inclusion_proof has no position'
  if (
    !Array.isArray(p.hashes) ||
    p.hashes.length > 64 ||
    !p.hashes.every((x) => typeof x === 'string' && HEX.test(x))
  )
    return 'inclusion_proof.hashes is not a list of hashes'
  if (doc.event !== undefined) {
    const e = doc.event
    if (
      !isObj(e) ||
      (e.leaf_hash !== undefined && (typeof e.leaf_hash !== 'string' || !HEX.test(e.leaf_hash)))
    )
      return 'event.leaf_hash is not a hash'
  }
  return null
}

function checkpointShape(c: Record<string, unknown>): c is Checkpoint {
  return (
    typeof c.tenant === 'string' &&
    c.tenant.length > 0 &&
    isPosInt(c.seq, 0) &&
    typeof c.hash === 'string' &&
    HEX.test(c.hash) &&
    typeof c.root === 'string' &&
    HEX.test(c.root) &&
    typeof c.time === 'string' &&
    ISO_MS.test(c.time) &&
    typeof c.key_id === 'string' &&
    c.key_id.length > 0 &&
    typeof c.signature === 'string' &&
    /^[A-Za-z0-9_-]{86}$/.test(c.signature) &&
    Object.keys(c).length === 7
  )
}

/** Null when signed by a published key valid at the checkpoint's time; else why not. */
export async function checkpointProblem(c: Checkpoint, ring: KeyRing): Promise<string | null> {
  const key = ring.keys.find((k) => k.id === c.key_id)
  if (!key) return 'unknown_key'
  if (c.time < key.not_before || (key.not_after !== undefined && c.time > key.not_after))
    return 'key_not_valid_then'
  const body = { tenant: c.tenant, seq: c.seq, hash: c.hash, root: c.root, time: c.time, key_id: c.key_id }
  try {
    const pub = await crypto.subtle.importKey('raw', fromB64url(key.public_key), { name: 'Ed25519' }, false, [
      'verify',
    ])
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, pub, fromB64url(c.signature), jcs(body))
    return ok ? null : 'bad_signature'
  } catch {
    return 'bad_signature'
  }
}

/** RFC 9162 2.1.3.2: the root the audit path folds `leaf` at `index` of `size` leaves to, or null. */
async function rootOfPath(leaf: string, index: number, size: number, path: string[]): Promise<string | null> {
  if (index >= size) return null
  let fn = index
  let sn = size - 1
  let r = leaf
  const node = (l: string, rt: string) => sha256Hex(Uint8Array.of(1), bytesOfHex(l), bytesOfHex(rt))
  for (const p of path) {
    if (sn === 0) return null
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
      }
    } else r = await node(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 ? r : null
}

export async function checkReceipt(doc: unknown, ring: KeyRing): Promise<ReceiptCheck> {
  const passed: string[] = []
  const fail = (
    kind: ProofProblemKind,
    message: string,
    expected?: unknown,
    found?: unknown,
  ): ReceiptCheck => ({
    ok: false,
    passed,
    problem: {
      kind,
      message,
      ...(expected === undefined ? {} : { expected: String(expected) }),
      ...(found === undefined ? {} : { found: String(found) }),
    },
  })
  const shape = shapeProblem(doc)
  if (shape) return fail('malformed', `not a proof document: ${shape}`)
  const d = doc as {
    record: Record<string, unknown> & { seq: number; hash: string; prev_hash: string; tenant: string }
    checkpoint: Record<string, unknown>
    inclusion_proof: { leaf_index: number; tree_size: number; hashes: string[] }
    event?: { leaf_hash?: string }
  }
  const r = d.record
  const cp = d.checkpoint
  if (!checkpointShape(cp)) return fail('malformed', 'checkpoint is not one')
  const { hash: _h, prev_hash: _p, ...content } = r
  const leaf = await sha256Hex(Uint8Array.of(0), jcs(content))
  if (d.event?.leaf_hash !== undefined && d.event.leaf_hash !== leaf)
    return fail('leaf_mismatch', 'the record does not hash to the stated leaf', leaf, d.event.leaf_hash)
  passed.push('leaf hash')
  const link = await sha256Hex(Uint8Array.of(2), bytesOfHex(r.prev_hash), bytesOfHex(leaf))
  if (link !== r.hash) return fail('hash_mismatch', 'the record does not match its chain hash', link, r.hash)
  passed.push('chain hash')
  const problem = await checkpointProblem(cp, ring)
  if (problem) return fail('checkpoint_invalid', `the checkpoint does not verify: ${problem}`)
  if (cp.tenant !== r.tenant)
    return fail('wrong_tenant', 'the checkpoint is of another tenant', r.tenant, cp.tenant)
  passed.push('checkpoint signature')
  const proof = d.inclusion_proof
  if (r.seq > cp.seq)
    return fail('wrong_position', 'the checkpoint does not cover the record', `seq >= ${r.seq}`, cp.seq)
  if (proof.leaf_index !== r.seq - 1)
    return fail(
      'wrong_position',
      'the proof is for another position than seq - 1',
      r.seq - 1,
      proof.leaf_index,
    )
  if (proof.tree_size !== cp.seq)
    return fail(
      'wrong_position',
      "the proof is for another tree than the checkpoint's",
      cp.seq,
      proof.tree_size,
    )
  if (r.seq === cp.seq && r.hash !== cp.hash)
    return fail(
      'checkpoint_mismatch',
      "the checkpoint's chain hash at this seq is not the record's",
      r.hash,
      cp.hash,
    )
  if ((await rootOfPath(leaf, proof.leaf_index, proof.tree_size, proof.hashes)) !== cp.root)
    return fail('not_included', "the audit path does not lead to the checkpoint's root", cp.root)
  passed.push('audit path')
  return { ok: true, passed, seq: r.seq, checkpoint: { seq: cp.seq, time: cp.time, key_id: cp.key_id } }
}

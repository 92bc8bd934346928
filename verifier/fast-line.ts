// Reads what the verifier needs from an archive line without parsing it.
//
// A line written by the consumer is `{"hash":"<hex>","prev_hash":"<hex>",` followed by the
// members of the event's hashed content exactly as RFC 8785 wrote them (core/integrity/chain.ts,
// chainedLine). So the leaf's preimage is `{` + the line after that prefix, and no JSON has to be
// built or re-serialised.
//
// Why accepting a line on this path is sound: the two chain members stand at fixed offsets right
// after the opening brace, so they are top-level members; if the rest hashes to the leaf the chain
// and a signed checkpoint commit to, it is the very canonical content the consumer hashed. The
// other facts are read from places that canonical content fixes: it ends with the tenant and the
// version (`,"tenant":<json>,"v":1}`: keys sort, and these two sort last), and its last
// `,"seq":` and `,"occurred_at":"` are the top-level ones (only strict objects with neither key
// follow them; inside strings, quotes are escaped). A line laid out any other way, or whose facts
// do not hold, is re-read the slow way by the caller, which accepts it or names the problem.
import { LINE_CONTENT_OFFSET } from '../core/integrity/chain'
import { binaryOfHex, putBinary, sha256Binary } from '../core/integrity/sha256'

const HASH_OPEN = Buffer.from('{"hash":"')
const PREV_OPEN = Buffer.from('","prev_hash":"')
const CONTENT_OPEN = Buffer.from('",')
const SEQ = needle(',"seq":')
const OCCURRED_AT = needle(',"occurred_at":"')
const COMMA = 0x2c

const HASH_AT = HASH_OPEN.length
const PREV_AT = HASH_AT + 64 + PREV_OPEN.length

/** Where a line's facts are, once its layout is known (readChainedLine). */
export type LineFacts = {
  seq: number
  /** Offset of the occurred_at text (just past its opening quote). */
  occurredAt: number
}

function bytesAt(b: Buffer, at: number, s: Buffer): boolean {
  if (at < 0 || at + s.length > b.length) return false
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s[i]) return false
  return true
}

/**
 * A needle for lastIndexBefore: its bytes and, for each byte value, how far a window may move
 * left when that byte is the window's first (Horspool's rule, mirrored for a backward search).
 */
type Needle = { bytes: Buffer; shift: Uint8Array }

function needle(text: string): Needle {
  const bytes = Buffer.from(text)
  const shift = new Uint8Array(256).fill(bytes.length)
  for (let j = bytes.length - 1; j >= 1; j--) shift[bytes[j]!] = j
  return { bytes, shift }
}

/** Where the needle last starts at or before `from` (these members sit near the end). */
function lastIndexBefore(b: Buffer, { bytes, shift }: Needle, from: number): number {
  const m = bytes.length
  for (let i = Math.min(from, b.length - m); i >= 0; i -= shift[b[i]!]!) {
    let k = 0
    while (k < m && b[i + k] === bytes[k]) k++
    if (k === m) return i
  }
  return -1
}

/** The line's tail that states its tenant (and version 1), as canonical content ends. */
export function tenantSuffix(tenant: string): Buffer {
  return Buffer.from(`,"tenant":${JSON.stringify(tenant)},"v":1}`)
}

/**
 * The seq and the place of occurred_at of a line in the consumer's layout, or undefined when the
 * line is laid out otherwise or does not end with `suffix` (tenantSuffix): the caller then reads
 * it the slow way.
 */
export function readChainedLine(b: Buffer, suffix: Buffer): LineFacts | undefined {
  const n = b.length
  if (
    n <= LINE_CONTENT_OFFSET + suffix.length ||
    !bytesAt(b, 0, HASH_OPEN) ||
    !bytesAt(b, PREV_AT - PREV_OPEN.length, PREV_OPEN) ||
    !bytesAt(b, LINE_CONTENT_OFFSET - CONTENT_OPEN.length, CONTENT_OPEN) ||
    !bytesAt(b, n - suffix.length, suffix)
  )
    return undefined
  const s = lastIndexBefore(b, SEQ, n - suffix.length)
  if (s < LINE_CONTENT_OFFSET) return undefined
  let seq = 0
  let k = s + SEQ.bytes.length
  if (b[k] === 0x30) return undefined
  for (; k < n && b[k] !== COMMA; k++) {
    const d = b[k]! - 0x30
    if (d < 0 || d > 9 || k - s - SEQ.bytes.length >= 15) return undefined
    seq = seq * 10 + d
  }
  if (seq === 0) return undefined
  const o = lastIndexBefore(b, OCCURRED_AT, s)
  if (o < LINE_CONTENT_OFFSET) return undefined
  return { seq, occurredAt: o + OCCURRED_AT.bytes.length }
}

/** The two lowercase hex characters of each byte value, as one 16-bit number (high char first). */
const HEX_PAIR = new Uint16Array(256)
for (let v = 0; v < 256; v++) {
  const h = v.toString(16).padStart(2, '0')
  HEX_PAIR[v] = (h.charCodeAt(0) << 8) | h.charCodeAt(1)
}

/** The byte value of each pair of lowercase hex characters (high char first), -1 elsewhere. */
const HEX_BYTE = new Int16Array(65536).fill(-1)
for (let v = 0; v < 256; v++) HEX_BYTE[HEX_PAIR[v]!] = v

/** Do the 64 lowercase hex characters at `at` spell the 32 bytes hash[from..from+32)? */
function hexIsBytes(b: Buffer, at: number, hash: Uint8Array, from: number): boolean {
  for (let i = 0; i < 32; i++)
    if (HEX_BYTE[(b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!] !== hash[from + i]) return false
  return true
}

/** Do the 64 lowercase hex characters at `at` spell the binary-string hash? */
function hexIsBinary(b: Buffer, at: number, hash: string): boolean {
  for (let i = 0; i < 32; i++)
    if (HEX_BYTE[(b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!] !== hash.charCodeAt(i)) return false
  return true
}

function digits(b: Buffer, at: number, count: number, max: number): boolean {
  let v = 0
  for (let i = 0; i < count; i++) {
    const d = b[at + i]! - 0x30
    if (d < 0 || d > 9) return false
    v = v * 10 + d
  }
  return v <= max
}

/**
 * Is the text at `at` a timestamp in the exact form the consumer stores (toISOString) on the day
 * `dt` (10 bytes, a valid date)? For such text this equals core/archive/layout.ts's utcDate check.
 */
function instantOnDay(b: Buffer, at: number, dt: Buffer): boolean {
  // YYYY-MM-DDTHH:MM:SS.mmmZ"
  return (
    bytesAt(b, at, dt) &&
    b[at + 10] === 0x54 &&
    digits(b, at + 11, 2, 23) &&
    b[at + 13] === 0x3a &&
    digits(b, at + 14, 2, 59) &&
    b[at + 16] === 0x3a &&
    digits(b, at + 17, 2, 59) &&
    b[at + 19] === 0x2e &&
    digits(b, at + 20, 3, 999) &&
    b[at + 23] === 0x5a &&
    b[at + 24] === 0x22
  )
}

/** The chain's running state on the byte path. */
export class ChainState {
  /** 0x02 || previous hash || leaf: the link preimage, the previous hash kept in place as bytes. */
  readonly link = Buffer.alloc(65)
  /** The leaf of the last accepted line, as a binary string (core/integrity/sha256.ts). */
  leaf = ''

  constructor(prevHash: string) {
    this.link[0] = 2
    this.prevHash = prevHash
  }

  get prevHash(): string {
    return this.link.toString('hex', 1, 33)
  }

  set prevHash(hex: string) {
    putBinary(this.link, binaryOfHex(hex), 1)
  }
}

/**
 * Checks a line (with its facts) as the next link of the chain: occurred_at on day `dt`,
 * prev_hash equal to the state's previous hash, hash equal to SHA-256(0x02 || prev || leaf).
 * On success the state holds the line's hash and leaf and true is returned; any failure returns
 * false and leaves the previous hash as it was.
 */
export function acceptChainedLine(b: Buffer, f: LineFacts, dt: Buffer, state: ChainState): boolean {
  const link = state.link
  if (!instantOnDay(b, f.occurredAt, dt) || !hexIsBytes(b, PREV_AT, link, 1)) return false
  // The leaf's preimage, 0x00 || '{' || content members, is formed in place over the two bytes
  // before the content (the `",` closing prev_hash), which are put back afterwards.
  const at = LINE_CONTENT_OFFSET - 2
  const q = b[at]!
  const c = b[at + 1]!
  b[at] = 0x00
  b[at + 1] = 0x7b
  const leaf = sha256Binary(new Uint8Array(b.buffer, b.byteOffset + at, b.length - at))
  b[at] = q
  b[at + 1] = c
  putBinary(link, leaf, 33)
  const hash = sha256Binary(link)
  if (!hexIsBinary(b, HASH_AT, hash)) return false
  putBinary(link, hash, 1)
  state.leaf = leaf
  return true
}

const CANONICAL_INSTANT = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/
const validDays = new Map<string, boolean>()

/**
 * The UTC date of a timestamp in the exact form the consumer stores (toISOString), or undefined
 * for any other text: for those strings it equals core/archive/layout.ts's utcDate, without building
 * a Date per line (each calendar day is checked once).
 */
export function canonicalUtcDate(s: string): string | undefined {
  const m = CANONICAL_INSTANT.exec(s)
  if (!m) return undefined
  const day = m[1]!
  let ok = validDays.get(day)
  if (ok === undefined) {
    const t = Date.parse(`${day}T00:00:00.000Z`)
    ok = !Number.isNaN(t) && new Date(t).toISOString().startsWith(day)
    if (validDays.size > 100_000) validDays.clear()
    validDays.set(day, ok)
  }
  return ok ? day : undefined
}

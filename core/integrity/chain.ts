// Hash chain (per tenant). Invariants, which the offline verifier re-checks:
// - leaf  = SHA-256(0x00 || JCS(event without `hash` and `prev_hash`)), RFC 8785 canonical JSON.
// - link  = SHA-256(0x02 || prev_hash || leaf); the first event of a tenant has prev_hash = 32 zero bytes.
// - seq starts at 1 and increases by exactly 1 per tenant; `hash` of seq n is `prev_hash` of n+1.
// 0x00 is RFC 6962's leaf prefix (0x01 is its interior-node prefix); 0x02 keeps chain links
// distinct from both, so no value can be read as another kind of hash.
import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import type { PendingEvent, StoredEvent } from '../ingest/stored-event'

export const GENESIS_HASH = '0'.repeat(64)

const enc = new TextEncoder()

/** RFC 8785 text of a JSON value. */
export function canonicalText(value: unknown): string {
  const s = canonicalize(value)
  if (s === undefined) throw new Error('value has no canonical JSON form')
  return s
}

export function canonicalBytes(value: unknown): Uint8Array {
  return enc.encode(canonicalText(value))
}

/** The part of a stored event covered by its leaf hash. */
export function hashedContent(e: StoredEvent | (PendingEvent & { seq: number })): Record<string, unknown> {
  const { hash: _h, prev_hash: _p, ...rest } = e as StoredEvent
  return rest
}

// node:crypto hashes synchronously (natively in Node and, with nodejs_compat, in workerd),
// which matters when a consumer batch or the verifier chains thousands of events. Each digest
// takes its whole preimage in one update: in workerd every update call has a fixed cost that
// dominates inputs this short. (U+0000 is the byte 0x00 in UTF-8, the leaf prefix.)

/** The leaf of hashed content already in canonical form. */
function leafOfCanonical(text: string): string {
  return createHash('sha256').update(`\u0000${text}`).digest('hex')
}

export function leafHashSync(content: Record<string, unknown>): string {
  return leafOfCanonical(canonicalText(content))
}

export function linkHashSync(prevHash: string, leaf: string): string {
  return createHash('sha256')
    .update(Buffer.from(`02${prevHash}${leaf}`, 'hex'))
    .digest('hex')
}

export async function leafHash(content: Record<string, unknown>): Promise<string> {
  return leafHashSync(content)
}

export async function linkHash(prevHash: string, leaf: string): Promise<string> {
  return linkHashSync(prevHash, leaf)
}

/** Where an archive line's hashed content starts: after `{"hash":"<64>","prev_hash":"<64>",`. */
export const LINE_CONTENT_OFFSET = '{"hash":"","prev_hash":"",'.length + 128

/** The leaf of a chained line (chainedLine): its content's preimage is `{` + the line's tail. */
export function leafOfLine(line: string): string {
  return leafOfCanonical(`{${line.slice(LINE_CONTENT_OFFSET)}`)
}

/**
 * The stored event's line (D1 body and archived NDJSON line): the chain members first, then the
 * members of its hashed content exactly as RFC 8785 wrote them:
 *   {"hash":"<hex>","prev_hash":"<hex>",<canonical content without its opening brace>
 * Any JSON reader sees the whole record; a verifier gets the leaf's preimage as
 * `{` + line[LINE_CONTENT_OFFSET..] without parsing or re-serialising (verifier/fast-line.ts).
 */
export function chainedLine(canonicalContent: string, prevHash: string, hash: string): string {
  return `{"hash":"${hash}","prev_hash":"${prevHash}",${canonicalContent.slice(1)}`
}

/** Events placed in the chain: the stored events, their leaf hashes and their lines (chainedLine). */
export type Chained = { stored: StoredEvent[]; leaves: string[]; lines: string[] }

/** Places pending events after `head` in the given order, canonicalising each once. */
export async function appendToChain(
  head: { seq: number; hash: string },
  events: PendingEvent[],
): Promise<Chained> {
  const stored: StoredEvent[] = []
  const leaves: string[] = []
  const lines: string[] = []
  let { seq, hash } = head
  for (const e of events) {
    seq += 1
    const withSeq = { ...e, seq }
    const content = canonicalText(withSeq)
    const leaf = leafOfCanonical(content)
    const next = linkHashSync(hash, leaf)
    stored.push({ ...withSeq, prev_hash: hash, hash: next })
    lines.push(chainedLine(content, hash, next))
    leaves.push(leaf)
    hash = next
  }
  return { stored, leaves, lines }
}

/** The line of a stored event (what appendToChain returns for it). */
export function storedLine(e: StoredEvent): string {
  return chainedLine(canonicalText(hashedContent(e)), e.prev_hash, e.hash)
}

export async function extendChain(
  head: { seq: number; hash: string },
  events: PendingEvent[],
): Promise<StoredEvent[]> {
  return (await appendToChain(head, events)).stored
}

// Signed checkpoints. Invariants:
// - A checkpoint states, for one tenant at one time, the chain head (seq, hash) and the RFC 6962
//   Merkle root of leaves 1..seq, signed with Ed25519 over the JCS canonical bytes of
//   {tenant, seq, hash, root, time, key_id} (everything but `signature`).
// - Checkpoints are issued on a schedule even when nothing arrived, so an archive whose chain
//   ends before the newest checkpoint's seq is detectably truncated.
// - A key signs only inside its published window [not_before, not_after]; a checkpoint whose
//   time lies outside its key's window is invalid even when the signature holds.
import { z } from 'zod'
import { canonicalBytes } from './chain'
import { hexHash } from './sha256'

const isoTime = z.iso.datetime({ offset: false, precision: 3 })

export const checkpointBodySchema = z
  .object({
    tenant: z.string().min(1),
    seq: z.number().int().nonnegative(),
    hash: hexHash,
    root: hexHash,
    time: isoTime,
    key_id: z.string().min(1),
  })
  .strict()
export const signedCheckpointSchema = checkpointBodySchema
  .extend({ signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be a 64-byte base64url signature') })
  .strict()

export const publicKeyEntrySchema = z.object({
  id: z.string().min(1),
  algorithm: z.literal('Ed25519'),
  /** Raw 32-byte public key, base64url. */
  public_key: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte base64url key'),
  not_before: isoTime,
  not_after: isoTime.optional(),
})
export const publicKeyDocumentSchema = z.object({
  keys: z.array(publicKeyEntrySchema),
  development: z.boolean().optional(),
})

export type CheckpointBody = z.infer<typeof checkpointBodySchema>
export type SignedCheckpoint = z.infer<typeof signedCheckpointSchema>
export type PublicKeyEntry = z.infer<typeof publicKeyEntrySchema>
export type PublicKeyDocument = z.infer<typeof publicKeyDocumentSchema>

const ED25519 = { name: 'Ed25519' } as const

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

export function fromB64url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'))
}

function bodyOf(c: CheckpointBody): CheckpointBody {
  return { tenant: c.tenant, seq: c.seq, hash: c.hash, root: c.root, time: c.time, key_id: c.key_id }
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointSigningBytes(c: CheckpointBody): Uint8Array {
  return canonicalBytes(bodyOf(c))
}

export async function signCheckpoint(body: CheckpointBody, privateKey: CryptoKey): Promise<SignedCheckpoint> {
  const sig = await crypto.subtle.sign(ED25519, privateKey, checkpointSigningBytes(body))
  return { ...bodyOf(body), signature: b64url(new Uint8Array(sig)) }
}

export type CheckpointProblem = 'malformed' | 'unknown_key' | 'key_not_valid_then' | 'bad_signature'

/** Null when the checkpoint is well formed and signed by a published key valid at its time; else why not. */
export async function checkCheckpoint(
  cp: unknown,
  doc: PublicKeyDocument,
): Promise<CheckpointProblem | null> {
  const parsed = signedCheckpointSchema.safeParse(cp)
  if (!parsed.success) return 'malformed'
  const c = parsed.data
  const key = doc.keys.find((k) => k.id === c.key_id)
  if (!key) return 'unknown_key'
  // ISO timestamps with fixed precision in UTC compare correctly as strings.
  if (c.time < key.not_before || (key.not_after !== undefined && c.time > key.not_after))
    return 'key_not_valid_then'
  let ok = false
  try {
    const pub = await crypto.subtle.importKey('raw', fromB64url(key.public_key), ED25519, false, ['verify'])
    ok = await crypto.subtle.verify(ED25519, pub, fromB64url(c.signature), checkpointSigningBytes(c))
  } catch {
    ok = false
  }
  return ok ? null : 'bad_signature'
}

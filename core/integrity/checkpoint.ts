// Signed checkpoints. Invariants:
// - A checkpoint states, for one tenant at one time, the chain head (seq, hash) and the RFC 6962
//   Merkle root of leaves 1..seq, signed with Ed25519 over the JCS canonical bytes of
//   {tenant, seq, hash, root, time, key_id} (everything but `signature`).
// - Checkpoints are issued on a schedule even when nothing arrived, so an archive whose chain
//   ends before the newest checkpoint's seq is detectably truncated.
import { canonicalBytes } from './chain'

export type CheckpointBody = {
  tenant: string
  seq: number
  hash: string
  root: string
  time: string
  key_id: string
}
export type SignedCheckpoint = CheckpointBody & { signature: string }

export type PublicKeyEntry = {
  id: string
  algorithm: 'Ed25519'
  /** Raw 32-byte public key, base64url. */
  public_key: string
  not_before: string
  not_after?: string
}
export type PublicKeyDocument = { keys: PublicKeyEntry[] }

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

export async function signCheckpoint(body: CheckpointBody, privateKey: CryptoKey): Promise<SignedCheckpoint> {
  const sig = await crypto.subtle.sign(ED25519, privateKey, canonicalBytes(bodyOf(body)))
  return { ...bodyOf(body), signature: b64url(new Uint8Array(sig)) }
}

export type CheckpointProblem = 'unknown_key' | 'key_not_valid_then' | 'bad_signature'

/** Null when the checkpoint is signed by a published key valid at its time; else why not. */
export async function checkCheckpoint(
  cp: SignedCheckpoint,
  doc: PublicKeyDocument,
): Promise<CheckpointProblem | null> {
  const key = doc.keys.find((k) => k.id === cp.key_id)
  if (!key) return 'unknown_key'
  if (cp.time < key.not_before || (key.not_after !== undefined && cp.time > key.not_after))
    return 'key_not_valid_then'
  const pub = await crypto.subtle.importKey('raw', fromB64url(key.public_key), ED25519, false, ['verify'])
  let ok = false
  try {
    ok = await crypto.subtle.verify(ED25519, pub, fromB64url(cp.signature), canonicalBytes(bodyOf(cp)))
  } catch {
    ok = false
  }
  return ok ? null : 'bad_signature'
}

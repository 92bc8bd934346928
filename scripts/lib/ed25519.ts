// The public half (base64url, as /.well-known/audit-log-keys publishes it) of a SIGNING_KEYS seed.
import { createPrivateKey } from 'node:crypto'

// PKCS #8 wrapper of a raw Ed25519 private key (RFC 8410), as core/integrity/signing-keys.ts builds it.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export function publicKeyOf(seed: Uint8Array): string {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const { x } = key.export({ format: 'jwk' })
  if (x === undefined) throw new Error('an Ed25519 key without its public half')
  return x
}

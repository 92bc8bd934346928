import { spawnSync } from 'node:child_process'
import { createPublicKey, verify } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  checkCheckpoint,
  checkpointSigningBytes,
  fromB64url,
  type PublicKeyDocument,
  signCheckpoint,
} from '../../../core/integrity/checkpoint'
import {
  activeKey,
  loadKeyRing,
  parseSigningKeys,
  publicKeyDocument,
} from '../../../core/integrity/signing-keys'
import vectors from '../../vectors/checkpoint.json'

const keys = vectors.keys as PublicKeyDocument
const seedOf = (hex: string) => Buffer.from(hex, 'hex').toString('base64url')
const ringOf = (entries: object[]) => loadKeyRing(JSON.stringify(entries))

/** Verifies with node:crypto's own Ed25519, independent of the WebCrypto path under test. */
function nodeVerify(publicKey: string, message: Uint8Array, signature: string): boolean {
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' })
  return verify(null, message, pub, fromB64url(signature))
}

describe('Ed25519 through WebCrypto', () => {
  it(vectors.rfc8032.desc, async () => {
    const v = vectors.rfc8032
    const [key] = await ringOf([{ id: 't', seed: seedOf(v.secret_key), not_before: '2000-01-01T00:00:00Z' }])
    expect(Buffer.from(fromB64url(key!.publicKey)).toString('hex')).toBe(v.public_key)
    const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key!.privateKey!, new Uint8Array(0))
    expect(Buffer.from(sig).toString('hex')).toBe(v.signature)
  })
})

describe('checkpoint signature vectors', () => {
  const [key] = keys.keys
  for (const v of vectors.valid) {
    it(`signs and verifies: ${v.desc}`, async () => {
      const [signer] = await ringOf([
        { id: 'rfc8032-test1', seed: seedOf(vectors.rfc8032.secret_key), not_before: '2026-01-01T00:00:00Z' },
      ])
      const bytes = checkpointSigningBytes(v.input)
      expect(new TextDecoder().decode(bytes)).toBe(v.want.signing_bytes)
      // For these values JCS is JSON with sorted keys.
      const sorted = Object.fromEntries(Object.entries(v.input).sort(([a], [b]) => (a < b ? -1 : 1)))
      expect(v.want.signing_bytes).toBe(JSON.stringify(sorted))
      expect((await signCheckpoint(v.input, signer!.privateKey!)).signature).toBe(v.want.signature)
      expect(nodeVerify(key!.public_key, bytes, v.want.signature)).toBe(true)
      expect(await checkCheckpoint({ ...v.input, signature: v.want.signature }, keys)).toBeNull()
    })
  }
  for (const v of vectors.invalid) {
    it(`rejects: ${v.desc}`, async () => {
      expect(await checkCheckpoint(v.input, keys)).toBe(v.wantErr)
    })
  }
})

describe('key ring and rotation', () => {
  const k1 = {
    id: 'k1',
    seed: Buffer.alloc(32, 1).toString('base64url'),
    not_before: '2026-01-01T00:00:00Z',
    not_after: '2026-06-30T23:59:59Z',
  }
  const k2 = {
    id: 'k2',
    seed: Buffer.alloc(32, 2).toString('base64url'),
    not_before: '2026-06-01T00:00:00+00:00',
  }

  it('signs with the newest key valid now and publishes every key, so old checkpoints still verify', async () => {
    const ring = await ringOf([k1, k2])
    expect(activeKey(ring, '2026-03-01T00:00:00.000Z').spec.id).toBe('k1')
    expect(activeKey(ring, '2026-06-15T00:00:00.000Z').spec.id).toBe('k2')
    expect(activeKey(ring, '2026-07-01T00:00:00.000Z').spec.id).toBe('k2')
    expect(() => activeKey(ring, '2025-12-31T00:00:00.000Z')).toThrow(/no signing key/)
    const doc = publicKeyDocument(ring)
    expect(doc.keys.map((k) => [k.id, k.not_before, k.not_after])).toEqual([
      ['k1', '2026-01-01T00:00:00.000Z', '2026-06-30T23:59:59.000Z'],
      ['k2', '2026-06-01T00:00:00.000Z', undefined],
    ])
    expect(doc.development).toBeUndefined()
    const body = { tenant: 'acme', seq: 3, hash: 'a'.repeat(64), root: 'b'.repeat(64), key_id: 'k1' }
    const old = await signCheckpoint({ ...body, time: '2026-03-01T00:00:00.000Z' }, ring[0]!.privateKey!)
    expect(await checkCheckpoint(old, doc)).toBeNull()
    // A retired key cannot sign checkpoints dated after its window.
    const late = await signCheckpoint({ ...body, time: '2026-07-01T00:00:00.000Z' }, ring[0]!.privateKey!)
    expect(await checkCheckpoint(late, doc)).toBe('key_not_valid_then')
  })

  it('keeps publishing a retired key from its public half alone, and never signs with it', async () => {
    const signedWithSeed = await ringOf([k1, k2])
    const body = { tenant: 'acme', seq: 3, hash: 'a'.repeat(64), root: 'b'.repeat(64), key_id: 'k1' }
    const old = await signCheckpoint(
      { ...body, time: '2026-03-01T00:00:00.000Z' },
      signedWithSeed[0]!.privateKey!,
    )
    const { seed: _seed, ...k1Public } = { ...k1, public_key: signedWithSeed[0]!.publicKey }
    const ring = await ringOf([k1Public, k2])
    expect(ring[0]!.privateKey).toBeUndefined()
    const doc = publicKeyDocument(ring)
    expect(doc).toEqual(publicKeyDocument(signedWithSeed))
    expect(await checkCheckpoint(old, doc)).toBeNull()
    expect(activeKey(ring, '2026-07-01T00:00:00.000Z').spec.id).toBe('k2')
    // Inside its old window a retired key still cannot sign: only keys with a seed do.
    expect(() => activeKey(ring, '2026-03-01T00:00:00.000Z')).toThrow(/no signing key with a seed/)
    await expect(
      ringOf([{ ...k1Public, public_key: Buffer.alloc(32, 9).toString('base64url').replace(/./, '!') }]),
    ).rejects.toThrow(/public_key/)
    expect(() => parseSigningKeys(JSON.stringify([{ ...k1Public, seed: k1.seed }]))).toThrow(
      /SIGNING_KEYS is invalid/,
    )
    // The command that makes the public-only entry from the secret one.
    const retired = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/retire-signing-key.ts', JSON.stringify(k1)],
      {
        encoding: 'utf8',
      },
    )
    expect(retired.status).toBe(0)
    expect((await ringOf([JSON.parse(retired.stdout), k2]))[0]).toMatchObject({
      publicKey: signedWithSeed[0]!.publicKey,
      spec: { id: 'k1', not_after: '2026-06-30T23:59:59.000Z' },
    })
    const { not_after: _na, ...openEnded } = k1Public
    expect(() => parseSigningKeys(JSON.stringify([openEnded]))).toThrow(/SIGNING_KEYS is invalid/)
  })

  it('explains a bad SIGNING_KEYS secret without echoing key material', () => {
    expect(() => parseSigningKeys('not json')).toThrow(/SIGNING_KEYS is not JSON/)
    expect(() => parseSigningKeys('[]')).toThrow(/SIGNING_KEYS is invalid/)
    expect(() => parseSigningKeys(JSON.stringify([{ ...k1, seed: 'c2hvcnQ' }]))).toThrow(
      /0\.seed: must be 32/,
    )
    expect(() => parseSigningKeys(JSON.stringify([k1, { ...k2, id: 'k1' }]))).toThrow(/unique/)
    expect(() => parseSigningKeys(JSON.stringify([{ ...k1, not_before: 'yesterday' }]))).toThrow(/not_before/)
    try {
      parseSigningKeys(JSON.stringify([{ ...k1, id: 'bad id!' }]))
    } catch (err) {
      expect((err as Error).message).not.toContain(k1.seed)
    }
  })

  it('derives nothing without SIGNING_KEYS: the ring is empty and signing is unavailable', async () => {
    const ring = await loadKeyRing(undefined)
    expect(ring).toEqual([])
    expect(publicKeyDocument(ring)).toEqual({ keys: [] })
    expect(() => activeKey(ring, new Date().toISOString())).toThrow(/SIGNING_KEYS secret is unset/)
  })

  it('marks a ring of dev- keys as development, and a mixed ring not', async () => {
    const dev = {
      id: 'dev-local',
      seed: Buffer.alloc(32, 3).toString('base64url'),
      not_before: '2000-01-01T00:00:00Z',
    }
    expect(publicKeyDocument(await ringOf([dev])).development).toBe(true)
    expect(publicKeyDocument(await ringOf([dev, k2])).development).toBeUndefined()
  })
})

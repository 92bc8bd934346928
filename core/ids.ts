// Identifiers: UUIDv7 for events (time-ordered, RFC 9562) and random API key secrets.
// UUIDv7 (RFC 9562, 5.7): 48 bits of Unix time in ms, the version, 12 random bits, the variant,
// 62 random bits. Minted at the edge for events without an id and by the SDK for every event, so
// random bytes are drawn from Web Crypto in blocks rather than per id, and bytes become hex
// through a table.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const POOL_IDS = 256
const pool = new Uint8Array(10 * POOL_IDS)
let used = POOL_IDS

export function uuidv7(now = Date.now()): string {
  if (used === POOL_IDS) {
    crypto.getRandomValues(pool)
    used = 0
  }
  const r = used++ * 10
  const h = HEX
  const p = pool
  // 48-bit timestamp, big-endian: the high 16 bits, then the low 32.
  const hi = Math.floor(now / 0x100000000)
  const lo = now >>> 0
  return (
    h[(hi >>> 8) & 0xff]! +
    h[hi & 0xff]! +
    h[lo >>> 24]! +
    h[(lo >>> 16) & 0xff]! +
    '-' +
    h[(lo >>> 8) & 0xff]! +
    h[lo & 0xff]! +
    '-' +
    h[0x70 | (p[r]! & 0x0f)]! +
    h[p[r + 1]!]! +
    '-' +
    h[0x80 | (p[r + 2]! & 0x3f)]! +
    h[p[r + 3]!]! +
    '-' +
    h[p[r + 4]!]! +
    h[p[r + 5]!]! +
    h[p[r + 6]!]! +
    h[p[r + 7]!]! +
    h[p[r + 8]!]! +
    h[p[r + 9]!]!
  )
}

export function randomToken(bytes = 24): string {
  const b = new Uint8Array(bytes)
  crypto.getRandomValues(b)
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

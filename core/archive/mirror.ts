// R2 -> S3 mirror reconciler (Athena reads only S3). Invariants:
// - S3 holds the same keys as R2 (under an optional prefix), byte for byte (s3-mirror.ts checks
//   every upload's MD5); an object whose size or ETag differs is copied again.
// - Bounded and resumable: a run walks R2 from a cursor kept in R2 (`mirror-state/`), comparing
//   one listing page at a time with the same key range in S3, and stops after `maxPages` pages
//   or `maxCopies` copies; the next run carries on from there, and a finished sweep starts over.
//   Re-running any range is harmless, so an interrupted run loses nothing.
// - S3 deletes only what compaction superseded: an events/ object that R2 no longer has, whose
//   seq range the partition's manifest covers, once every part that manifest names is in S3 with
//   the same size. Anything else S3 holds and R2 lacks is reported, never deleted.
// Production also copies on R2 event notifications (mirrorObject); the reconciler is what
// guarantees convergence, and the path that runs locally.

import { objectLockHeaders } from '../retention/object-lock'
import { readManifest } from './compaction'
import {
  ARCHIVE_PREFIX,
  MIRROR_STATE_KEY,
  MIRRORED_PREFIXES,
  manifestKey,
  parseArchiveKey,
  parseObjectName,
} from './layout'
import { listAll, readJson } from './r2'
import {
  deleteS3,
  headS3,
  type Listed,
  listS3,
  MIRROR_DISABLED_REASON,
  type MirrorEnv,
  mirrorOf,
  putS3,
  type S3Mirror,
  sameObject,
} from './s3-mirror'

export { type MirrorEnv, mirrorOf } from './s3-mirror'

type MirrorState = { prefix: number; after: string; sweeps: number; last_sweep_at: string | null }
const START: MirrorState = { prefix: 0, after: '', sweeps: 0, last_sweep_at: null }

async function loadState(bucket: R2Bucket): Promise<MirrorState> {
  const s = await readJson<MirrorState>(bucket, MIRROR_STATE_KEY)
  return s && s.prefix >= 0 && s.prefix < MIRRORED_PREFIXES.length ? s : { ...START }
}

async function listR2(bucket: R2Bucket, prefix: string): Promise<Map<string, Listed>> {
  return new Map((await listAll(bucket, prefix)).map((o) => [o.key, { size: o.size, etag: o.etag }]))
}

/**
 * Copies one R2 object to S3; 0 when it is gone from R2 (the next sweep sees why). An events
 * object carries its own Object Lock retain-until (the end of its class's period) and its class
 * as a tag (core/retention/object-lock.ts).
 */
async function copy(bucket: R2Bucket, m: S3Mirror, key: string): Promise<number> {
  const obj = await bucket.get(key)
  if (!obj) return 0
  const body = new Uint8Array(await obj.arrayBuffer())
  await putS3(
    m,
    key,
    body,
    obj.httpMetadata?.contentType ?? 'application/octet-stream',
    objectLockHeaders(key),
  )
  return body.byteLength
}

/** What a partition's manifest allows S3 to drop: the seq range it covers, once S3 holds its parts. */
type Superseding = { first: number; last: number; files: Set<string> } | null

async function supersedingIn(
  bucket: R2Bucket,
  m: S3Mirror,
  tenant: string,
  dt: string,
  s3: Map<string, Listed>,
): Promise<Superseding> {
  const manifest = await readManifest(bucket, tenant, dt)
  if (!manifest || manifest.files.length === 0) return null
  for (const f of manifest.files) {
    const there = s3.get(f.key) ?? (await headS3(m, f.key))
    if (!there || there.size !== f.bytes) return null
  }
  return {
    first: Math.min(...manifest.files.map((f) => f.first_seq)),
    last: Math.max(...manifest.files.map((f) => f.last_seq)),
    files: new Set(manifest.files.map((f) => f.key)),
  }
}

/**
 * Whether an S3-only events/ object was superseded by a compaction whose parts S3 holds. Once a
 * partition's parts are found in S3 that is kept for the run (`checked`), so its other superseded
 * objects cost no further reads; a partition whose parts are not there yet is checked again
 * (they may be copied later in the same run).
 */
async function supersededInS3(
  bucket: R2Bucket,
  m: S3Mirror,
  key: string,
  s3: Map<string, Listed>,
  checked: Map<string, NonNullable<Superseding>>,
): Promise<boolean> {
  const part = parseArchiveKey(key)
  const range = part && parseObjectName(part.name)
  if (!part || !range) return false
  const mk = manifestKey(part.tenant, part.dt)
  const s = checked.get(mk) ?? (await supersedingIn(bucket, m, part.tenant, part.dt, s3))
  if (s) checked.set(mk, s)
  return s !== null && !s.files.has(key) && range.first >= s.first && range.last <= s.last
}

export type ReconcileOptions = { maxCopies?: number; maxPages?: number; pageSize?: number }

/** One bounded step of the sweep; returns what it did and where the cursor stands. */
export async function reconcileMirror(env: MirrorEnv, o: ReconcileOptions = {}) {
  const m = mirrorOf(env)
  if (!m) return { enabled: false as const, reason: MIRROR_DISABLED_REASON, copied: 0, bytes: 0, deleted: 0 }
  const maxCopies = o.maxCopies ?? 500
  const maxPages = o.maxPages ?? 20
  const state = await loadState(env.ARCHIVE)
  const checked = new Map<string, NonNullable<Superseding>>()
  const kept: string[] = []
  let copied = 0
  let bytes = 0
  let deleted = 0
  let compared = 0
  let pages = 0
  let sweepFinished = false
  while (pages < maxPages && copied < maxCopies && !sweepFinished) {
    const prefix = MIRRORED_PREFIXES[state.prefix]!
    const page = await env.ARCHIVE.list({
      prefix,
      ...(state.after ? { startAfter: state.after } : {}),
      limit: o.pageSize ?? 1000,
    })
    pages++
    const last = page.truncated ? page.objects.at(-1)?.key : undefined
    const s3 = await listS3(m, prefix, { startAfter: state.after || undefined, until: last })
    let budgetHit = false
    for (const obj of page.objects) {
      if (copied >= maxCopies) {
        budgetHit = true
        break
      }
      compared++
      if (!sameObject({ size: obj.size, etag: obj.etag }, s3.get(obj.key))) {
        bytes += await copy(env.ARCHIVE, m, obj.key)
        copied++
      }
      state.after = obj.key
    }
    if (budgetHit) break
    if (prefix === ARCHIVE_PREFIX) {
      const inR2 = new Set(page.objects.map((x) => x.key))
      for (const key of s3.keys()) {
        if (inR2.has(key)) continue
        if (await supersededInS3(env.ARCHIVE, m, key, s3, checked)) {
          await deleteS3(m, key)
          deleted++
        } else kept.push(key)
      }
    }
    if (last) continue
    // This prefix is done: on to the next, or the sweep is complete.
    state.after = ''
    state.prefix++
    if (state.prefix === MIRRORED_PREFIXES.length) {
      state.prefix = 0
      state.sweeps++
      state.last_sweep_at = new Date().toISOString()
      sweepFinished = true
    }
  }
  await env.ARCHIVE.put(MIRROR_STATE_KEY, JSON.stringify(state), {
    httpMetadata: { contentType: 'application/json' },
  })
  return {
    enabled: true as const,
    copied,
    bytes,
    deleted,
    compared,
    pages,
    sweep_finished: sweepFinished,
    cursor: { prefix: MIRRORED_PREFIXES[state.prefix]!, after: state.after },
    s3_only_kept: kept.slice(0, 20),
  }
}

/** Copies one object named by an R2 event notification (put, copy or multipart completion). */
export async function mirrorObject(env: MirrorEnv, key: string): Promise<number> {
  const m = mirrorOf(env)
  if (!m || !MIRRORED_PREFIXES.some((p) => key.startsWith(p))) return 0
  return copy(env.ARCHIVE, m, key)
}

/** The whole backlog, from full listings of both stores (the status route; not the cron). */
export async function mirrorStatus(env: MirrorEnv) {
  const m = mirrorOf(env)
  if (!m) return { enabled: false as const, reason: MIRROR_DISABLED_REASON }
  const missing: { key: string; size: number }[] = []
  let r2Objects = 0
  let s3Objects = 0
  let s3Only = 0
  for (const prefix of MIRRORED_PREFIXES) {
    const [r2, s3] = await Promise.all([listR2(env.ARCHIVE, prefix), listS3(m, prefix)])
    r2Objects += r2.size
    s3Objects += s3.size
    for (const [key, o] of r2) if (!sameObject(o, s3.get(key))) missing.push({ key, size: o.size })
    for (const key of s3.keys()) if (!r2.has(key)) s3Only++
  }
  const state = await loadState(env.ARCHIVE)
  return {
    enabled: true as const,
    r2_objects: r2Objects,
    s3_objects: s3Objects,
    missing_objects: missing.length,
    missing_bytes: missing.reduce((n, o) => n + o.size, 0),
    s3_only_objects: s3Only,
    oldest_missing: missing.slice(0, 20).map((o) => o.key),
    cursor: { prefix: MIRRORED_PREFIXES[state.prefix]!, after: state.after },
    sweeps: state.sweeps,
    last_sweep_at: state.last_sweep_at,
  }
}

/**
 * True when S3 holds every object R2 holds under `prefix`, with the same bytes. Extra S3 objects
 * (reported by the status, never deleted unless superseded) do not make R2's data less safe.
 */
export async function isPrefixMirrored(env: MirrorEnv, prefix: string): Promise<boolean> {
  const m = mirrorOf(env)
  if (!m) return false
  const [r2, s3] = await Promise.all([listR2(env.ARCHIVE, prefix), listS3(m, prefix)])
  for (const [key, o] of r2) if (!sameObject(o, s3.get(key))) return false
  return true
}

// Protection at the edge: before an event is enqueued, every field the tenant's policy names is
// replaced by its protected form (core/privacy/protected-value.ts), so the queue, D1, R2, the
// S3 mirror, the hash chain and Athena only ever see that form. The hash chain covers the
// protected form: erasing a key later changes no hash.
import type { Db } from '../db/client'
import { DomainError, validationError } from '../errors'
import type { PendingEvent } from '../ingest/stored-event'
import { protectablePaths, withValues } from './fields'
import { type PiiKeyRing, requireRing, tenantKeys } from './pii-keys'
import type { PrivacyPath, TenantPolicy } from './policy'
import { hashValue, isProtected, sealFields } from './protected-value'
import { activeDataKeys } from './subject-keys'

/** `db`: the tenant's shard, resolved only when a subject key has to be read or created. */
export type PrivacyContext = {
  db: () => Promise<Db>
  writeDb: () => Promise<Db>
  ring: PiiKeyRing | undefined
  policy: TenantPolicy
}

/**
 * Refuses plaintext that would read as a protected value (hmac:v1:..., sealed:v1:...) in a
 * protectable field: stored, it could not be told from a value the service protected.
 */
function refuseLookalikes(events: PendingEvent[], batch: boolean) {
  const errors: { path: string; message: string }[] = []
  events.forEach((e, i) => {
    for (const [path, v] of protectablePaths(e))
      if (isProtected(v))
        errors.push({
          path: batch ? `events[${i}].${path}` : path,
          message:
            'must not begin with "hmac:v1:" or "sealed:v1:": those prefixes mark values the service protects',
        })
  })
  if (errors.length > 0)
    throw validationError('Some fields hold values in the reserved protected form.', errors)
}

/** The events with their policy fields hashed or sealed; the input is not mutated. */
export async function protectEvents(
  ctx: PrivacyContext,
  tenant: string,
  events: PendingEvent[],
  opts: { batch?: boolean } = {},
): Promise<PendingEvent[]> {
  refuseLookalikes(events, opts.batch ?? false)
  if (ctx.policy.size === 0) return events
  const work = events.map((e) => protectablePaths(e).filter(([p]) => ctx.policy.has(p)))
  if (work.every((w) => w.length === 0)) return events
  const ring = requireRing(ctx.ring)
  const keys = await tenantKeys(ring, tenant)
  const sealSubjects = events.filter((_e, i) => work[i]!.some(([p]) => ctx.policy.get(p) === 'seal'))
  const dataKeys =
    sealSubjects.length > 0
      ? await activeDataKeys(
          await ctx.db(),
          ring,
          tenant,
          sealSubjects.map((e) => e.actor.id),
          ctx.writeDb,
        )
      : new Map()
  return Promise.all(
    events.map(async (e, i) => {
      const fields = work[i]!
      if (fields.length === 0) return e
      const values = new Map<PrivacyPath, unknown>()
      const toSeal: [PrivacyPath, unknown][] = []
      for (const [path, v] of fields) {
        if (ctx.policy.get(path) === 'hash') values.set(path, await hashValue(keys.hmac, v))
        else toSeal.push([path, v])
      }
      if (toSeal.length > 0) {
        const key = dataKeys.get(e.actor.id)
        if (!key) throw new DomainError('unavailable', 'A data key for the subject could not be loaded.')
        const sealed = await sealFields(key, tenant, e.id, toSeal)
        for (const [i, [path]] of toSeal.entries()) values.set(path, sealed[i])
      }
      return withValues(e, values)
    }),
  )
}

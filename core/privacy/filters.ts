// Search filters on protected fields: a filter on a hashed field matches the hash of the value
// asked for (the store holds only hashes); a filter on a sealed field is refused, since sealed
// values have no searchable form.
import { validationError } from '../errors'
import type { SearchFilters } from '../search/filters'
import { requireRing, tenantKeys } from './pii-keys'
import type { PrivacyPath } from './policy'
import type { PrivacyContext } from './protect'
import { hashValue } from './protected-value'

/** The filters that name a protected field, and the field each one names. */
const FILTER_FIELDS: [keyof SearchFilters, PrivacyPath][] = [['ip', 'context.ip']]

export async function protectFilters(
  ctx: PrivacyContext,
  tenant: string,
  f: SearchFilters,
): Promise<SearchFilters> {
  let out = f
  for (const [param, path] of FILTER_FIELDS) {
    const v = f[param]
    if (v === undefined) continue
    const mode = ctx.policy.get(path)
    if (mode === 'seal')
      throw validationError(`${path} is sealed for this tenant, so events cannot be searched by it.`, [
        {
          path: param,
          message: `filters on ${path}, which the privacy policy seals (only hashed fields can be searched)`,
        },
      ])
    if (mode === 'hash') {
      const keys = await tenantKeys(requireRing(ctx.ring), tenant)
      out = { ...out, [param]: await hashValue(keys.hmac, v) }
    }
  }
  return out
}

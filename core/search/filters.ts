// Search filters of GET /v1/events, /v1/targets/:type/:id/events and /v1/export: defined once.
import { z } from '@hono/zod-openapi'
import { ACTOR_TYPES, timestampSchema } from '../ingest/event-schema'
import { pageLimitSchema } from '../limits'

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional()

export const searchFilterShape = {
  actor_id: z.string().min(1).max(256).optional(),
  actor_type: z.enum(ACTOR_TYPES).optional(),
  action: z
    .string()
    .max(129)
    .regex(
      /^[a-z0-9_.-]+\*?$/,
      'must be a lower-case dotted action, optionally ending in * for a prefix match',
    )
    .optional(),
  target_type: z.string().min(1).max(128).optional(),
  target_id: z.string().min(1).max(256).optional(),
  include_children: bool,
  source: z.string().min(1).max(128).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  correlation_id: z.string().min(1).max(256).optional(),
  ip: z.union([z.ipv4().openapi({ format: 'ipv4' }), z.ipv6().openapi({ format: 'ipv6' })]).optional(),
  since: timestampSchema.optional(),
  until: timestampSchema.optional(),
  include_audit_reads: bool,
}

type FilterOut = z.output<z.ZodObject<typeof searchFilterShape>>

function refineFilters(f: FilterOut, ctx: z.RefinementCtx) {
  if (f.since && f.until && f.since > f.until) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'must not be before since' })
  }
  if (f.include_children && !(f.target_type && f.target_id)) {
    ctx.addIssue({ code: 'custom', path: ['include_children'], message: 'needs target_type and target_id' })
  }
  if (f.target_id && !f.target_type) {
    ctx.addIssue({ code: 'custom', path: ['target_type'], message: 'is required with target_id' })
  }
}

export type SearchFilters = FilterOut

export const pageShape = {
  limit: pageLimitSchema,
  cursor: z.string().max(512).optional(),
}

/** Query of GET /v1/events: filters and paging; unknown parameters are rejected. */
export const searchQuerySchema = z
  .object({ ...searchFilterShape, ...pageShape })
  .strict()
  .superRefine(refineFilters)

/** Query of GET /v1/export. */
export const exportQuerySchema = z
  .object({ ...searchFilterShape, format: z.enum(['ndjson', 'csv']).default('ndjson') })
  .strict()
  .superRefine(refineFilters)

/** Query of GET /v1/targets/:type/:id/events (the target comes from the path). */
export const targetHistoryQuerySchema = z
  .object({
    include_children: searchFilterShape.include_children,
    since: searchFilterShape.since,
    until: searchFilterShape.until,
    action: searchFilterShape.action,
    ...pageShape,
  })
  .strict()

export function filtersOf<T extends Record<string, unknown>>(q: T): SearchFilters {
  const { limit: _l, cursor: _c, format: _f, ...rest } = q as Record<string, unknown>
  return rest as SearchFilters
}

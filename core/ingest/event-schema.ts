// Event v1 as clients send it. Defined once: the ingest route validates with it, the types
// are inferred from it, and the OpenAPI document is generated from it.
import { z } from '@hono/zod-openapi'
import { LIMITS } from '../limits'
import { tooDeepPath } from './exact-json'

export const ACTOR_TYPES = ['user', 'service', 'api_key', 'system', 'ai'] as const

export const eventIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')

export const actionSchema = z
  .string()
  .max(128)
  .regex(
    /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/,
    'must be a lower-case dotted verb such as "user.role.updated"',
  )

const text = (max: number) => z.string().min(1).max(max)

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

const daysIn = (y: number, m: number) =>
  m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31

/**
 * The instant an RFC 3339 timestamp names, in ms since the epoch, or why it names none. Read
 * field by field (never Date.parse, which rolls 2026-02-30 over to March 2 and T24:00 to the
 * next day): the calendar date must exist, hours are 00-23, minutes and seconds 00-59 (a leap
 * second, :60, is refused: UTC milliseconds cannot hold it), and the offset at most ±23:59.
 * Stored timestamps carry milliseconds, so a fraction may have more than 3 digits only when
 * the extra ones are zeros; finer precision is refused rather than truncated.
 */
function instantOf(s: string): number | string {
  const m = RFC3339.exec(s)
  if (!m) return 'is not an RFC 3339 timestamp'
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const frac = m[7] ?? ''
  if (mo < 1 || mo > 12) return `is not a real date: there is no month ${m[2]}`
  if (d < 1 || d > daysIn(y, mo)) return `is not a real date: ${m[1]}-${m[2]} has no day ${m[3]}`
  if (h > 23) return 'is not a real time: hours are 00-23 (T24:00 is the next day at T00:00)'
  if (mi > 59) return 'is not a real time: minutes are 00-59'
  if (sec > 59) return 'is not a real time: seconds are 00-59 (leap seconds are not accepted)'
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59))
    return 'has an impossible offset: at most ±23:59'
  if (/[1-9]/.test(frac.slice(3)))
    return 'is more precise than a millisecond; timestamps are stored with milliseconds, so send at most 3 fractional digits'
  const t = new Date(0)
  t.setUTCFullYear(y, mo - 1, d)
  t.setUTCHours(h, mi, sec, Number(frac.slice(0, 3).padEnd(3, '0')))
  const offsetMin = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]))
  const ms = t.getTime() - offsetMin * 60_000
  const year = new Date(ms).getUTCFullYear()
  if (year < 0 || year > 9999) return 'falls outside the years 0000-9999 in UTC'
  return ms
}

/** RFC 3339 with a zone, of a real instant; normalised to UTC with milliseconds (see instantOf). */
export const timestampSchema = z
  .string()
  .regex(RFC3339, 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z')
  .transform((s, ctx) => {
    const t = instantOf(s)
    if (typeof t === 'number') return new Date(t).toISOString()
    ctx.issues.push({ code: 'custom', input: s, message: t })
    return z.NEVER
  })

const scalar = z.union([z.string().max(LIMITS.metadataMaxValueLength), z.number(), z.boolean(), z.null()])

export const actorSchema = z
  .object({
    type: z.enum(ACTOR_TYPES),
    id: text(256),
    name: text(256).optional(),
    email: z.email().max(320).optional(),
  })
  .strict()

export const targetSchema = z
  .object({
    type: text(128),
    id: text(256),
    name: text(256).optional(),
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .max(2048)
      .optional(),
  })
  .strict()

export const parentSchema = z.object({ type: text(128), id: text(256), name: text(256).optional() }).strict()

export const outcomeSchema = z
  .object({
    status: z.enum(['success', 'failure']),
    code: text(128).optional(),
    reason: text(1024).optional(),
  })
  .strict()

/** A free-form JSON value, nested at most LIMITS.maxDepth levels. */
const jsonValue: z.ZodType<unknown> = z.unknown().superRefine((v, ctx) => {
  const deep = tooDeepPath(v, LIMITS.maxDepth)
  if (deep)
    ctx.addIssue({ code: 'custom', path: deep, message: `nests deeper than ${LIMITS.maxDepth} levels` })
})

export const changeSchema = z
  .object({ field: text(256), before: jsonValue.optional(), after: jsonValue.optional() })
  .strict()

export const contextSchema = z
  .object({
    ip: z.union([z.ipv4().openapi({ format: 'ipv4' }), z.ipv6().openapi({ format: 'ipv6' })]).optional(),
    user_agent: text(1024).optional(),
    request_id: text(256).optional(),
    session_id: text(256).optional(),
    correlation_id: text(256).optional(),
  })
  .strict()

/**
 * A flat map of scalars within the metadata limits: metadata, and a description's values. Keys
 * are checked by a refinement, so a bad key is reported under its own path with the limit.
 */
const scalarMap = () =>
  z
    .record(z.string(), scalar)
    .openapi({
      maxProperties: LIMITS.metadataMaxKeys,
      description: `Keys are 1-${LIMITS.metadataMaxKeyLength} characters.`,
    })
    .superRefine((m, ctx) => {
      const keys = Object.keys(m)
      if (keys.length > LIMITS.metadataMaxKeys)
        ctx.addIssue({ code: 'custom', path: [], message: `may hold at most ${LIMITS.metadataMaxKeys} keys` })
      for (const k of keys)
        if (k.length < 1 || k.length > LIMITS.metadataMaxKeyLength)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `is not a valid key: keys are 1-${LIMITS.metadataMaxKeyLength} characters`,
          })
    })

export const descriptionSchema = z.union([
  text(2048),
  z.object({ template: text(2048), values: scalarMap().optional() }).strict(),
])

export const metadataSchema = scalarMap()

export const eventInputSchema = z
  .object({
    id: eventIdSchema.optional(),
    occurred_at: timestampSchema,
    action: actionSchema,
    actor: actorSchema,
    target: targetSchema,
    parent: parentSchema.optional(),
    outcome: outcomeSchema.optional(),
    changes: z.array(changeSchema).max(LIMITS.maxChanges).optional(),
    context: contextSchema.optional(),
    source: text(128).optional(),
    description: descriptionSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()
  .openapi('EventInput')

export type EventInput = z.input<typeof eventInputSchema>
export type ValidEvent = z.output<typeof eventInputSchema>

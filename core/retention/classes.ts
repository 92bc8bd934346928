// Retention classes: named periods for kinds of events, from retention.config.json (bundled into
// the Worker and validated once per isolate). Invariants:
// - An event's class is fixed at ingest (toPendingEvent) and stored in its record as `retention`,
//   inside the hashed content; it never changes afterwards. Events stored before classes existed
//   have no field and belong to the default class.
// - Matching: a tenant's own action rules first, then the classes in the order the config lists
//   them; the first class with a matching pattern wins, else the tenant's default, else the default.
//   A pattern is a dotted action where `*` stands for one or more segments: `auth.*`, `*.role.*`.
// - A class's period is counted in whole UTC days from the event's partition day (dt): the event
//   expires on the day dt + days (core/retention/expiry-date.ts), never earlier.
import { z } from 'zod'
import config from '../../retention.config.json'
import { issuesText } from '../errors'

const CLASS_NAME = /^[a-z][a-z0-9_]{0,31}$/
const PATTERN = /^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+))*$/

export const classNameSchema = z
  .string()
  .regex(CLASS_NAME, 'a class name is 1-32 characters: a lower-case letter, then letters, digits or _')
const patternSchema = z
  .string()
  .regex(PATTERN, 'an action pattern is dotted lower-case segments, each a name or *: auth.*, *.role.*')
/** Days in a class; a whole number from 1 to 100 years. */
const daysSchema = z.number().int().min(1).max(36500)

const classSchema = z.object({ days: daysSchema, actions: z.array(patternSchema) }).strict()

const tenantKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}\*?$/, 'must be a tenant name, or a tenant prefix ending in *')

const tenantOverrideSchema = z
  .object({
    default_class: classNameSchema.optional(),
    /** Other periods for some classes of this tenant (a longer legal hold, a shorter contract). */
    days: z.record(classNameSchema, daysSchema).optional(),
    /** Extra patterns per class, matched before the global ones. */
    actions: z.record(classNameSchema, z.array(patternSchema)).optional(),
  })
  .strict()

/** The class part of a retention config, as fields of the config's object. */
export const retentionClassesShape = {
  default_class: classNameSchema,
  classes: z.record(classNameSchema, classSchema),
  tenants: z.record(tenantKey, tenantOverrideSchema).default({}),
}

type ClassFields = {
  default_class: string
  classes: Record<string, unknown>
  tenants: Record<string, z.infer<typeof tenantOverrideSchema>>
}

/** Every class a config names (defaults, tenant overrides) must be one of its classes. */
export function checkClassNames(c: ClassFields, ctx: z.RefinementCtx): void {
  const known = (name: string, path: (string | number)[]) => {
    if (!(name in c.classes))
      ctx.addIssue({
        code: 'custom',
        path,
        message: `"${name}" is not one of the classes (${Object.keys(c.classes).join(', ')})`,
      })
  }
  known(c.default_class, ['default_class'])
  for (const [t, o] of Object.entries(c.tenants)) {
    if (o.default_class) known(o.default_class, ['tenants', t, 'default_class'])
    for (const k of Object.keys(o.days ?? {})) known(k, ['tenants', t, 'days', k])
    for (const k of Object.keys(o.actions ?? {})) known(k, ['tenants', t, 'actions', k])
  }
}

export const retentionClassesSchema = z.object(retentionClassesShape).superRefine(checkClassNames)
export type RetentionClasses = z.infer<typeof retentionClassesSchema>

/** Parses the class part of a retention config; the message names each bad entry. */
export function parseRetentionClasses(raw: unknown, source = 'retention.config.json'): RetentionClasses {
  const r = retentionClassesSchema.safeParse(raw)
  if (!r.success) throw new Error(`${source} is invalid: ${configIssuesText(r.error.issues)}`)
  return r.data
}

/** Issues as one line; a bad record key says which rule it breaks, not only "Invalid key". */
export function configIssuesText(issues: readonly z.core.$ZodIssue[]): string {
  return issuesText(
    issues.map((i) =>
      i.code === 'invalid_key' && i.issues[0] ? { path: i.path, message: i.issues[0].message } : i,
    ),
  )
}

/** True when a dotted action matches a pattern; `*` matches one or more whole segments. */
export function actionMatches(pattern: string, action: string): boolean {
  const p = pattern.split('.')
  const a = action.split('.')
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === a.length
    if (p[i] === '*') {
      for (let k = j + 1; k <= a.length; k++) if (match(i + 1, k)) return true
      return false
    }
    return j < a.length && p[i] === a[j] && match(i + 1, j + 1)
  }
  return match(0, 0)
}

function overrideOf(c: RetentionClasses, tenant: string) {
  if (c.tenants[tenant]) return c.tenants[tenant]
  let best: { len: number; o: RetentionClasses['tenants'][string] } | undefined
  for (const [k, o] of Object.entries(c.tenants)) {
    if (!k.endsWith('*')) continue
    const prefix = k.slice(0, -1)
    if (tenant.startsWith(prefix) && (!best || prefix.length > best.len)) best = { len: prefix.length, o }
  }
  return best?.o
}

/** The class of a tenant's event with this action. */
export function classOf(c: RetentionClasses, tenant: string, action: string): string {
  const o = overrideOf(c, tenant)
  for (const [name, patterns] of Object.entries(o?.actions ?? {}))
    if (patterns.some((p) => actionMatches(p, action))) return name
  for (const [name, cls] of Object.entries(c.classes))
    if (cls.actions.some((p) => actionMatches(p, action))) return name
  return o?.default_class ?? c.default_class
}

/** A tenant's period for a class, in days; null for a class the config does not know. */
export function daysOf(c: RetentionClasses, tenant: string, cls: string): number | null {
  const own = overrideOf(c, tenant)?.days?.[cls]
  if (own !== undefined) return own
  return c.classes[cls]?.days ?? null
}

/** The longest period any tenant can have for a class (what S3 lifecycle rules must allow). */
export function longestDays(c: RetentionClasses, cls: string): number {
  let n = c.classes[cls]?.days ?? 0
  for (const o of Object.values(c.tenants)) n = Math.max(n, o.days?.[cls] ?? 0)
  return n
}

/** The shortest period a tenant has in any class: days younger than it cannot hold expired events. */
export function shortestDays(c: RetentionClasses, tenant: string): number {
  return Math.min(...Object.keys(c.classes).map((k) => daysOf(c, tenant, k)!))
}

let bundled: RetentionClasses | undefined
/** The bundled configuration's classes, validated once per isolate. */
export function bundledRetentionClasses(): RetentionClasses {
  bundled ??= parseRetentionClasses(config)
  return bundled
}

/** The class of a new event, from the bundled configuration. */
export function retentionClassOf(tenant: string, action: string): string {
  return classOf(bundledRetentionClasses(), tenant, action)
}

/** The class of a stored record: its field, or the default for records stored before classes. */
export function storedClassOf(e: { retention?: string }): string {
  return e.retention ?? bundledRetentionClasses().default_class
}

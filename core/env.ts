// The bindings and settings of the one Worker (wrangler.toml), shared by `fetch`, `queue`
// and `scheduled`.
import { z } from 'zod'

/**
 * The bindings, vars and secrets, as `wrangler types` generates them from wrangler.toml and
 * .dev.vars.example (worker-configuration.d.ts; `npm run types`). Every var and secret (the
 * text-valued entries) may be unset: no admin token, mirroring off, the default window.
 */
type Text = {
  [K in keyof Cloudflare.Env]: Cloudflare.Env[K] extends string ? K : never
}[keyof Cloudflare.Env]
export type Env = Omit<Cloudflare.Env, Text> & Partial<Pick<Cloudflare.Env, Text>>

const settingsSchema = z.object({
  adminToken: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
  hotRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
  proofCheckpointIntervalSeconds: z.coerce.number().int().min(1).max(3600).default(10),
  // Cloudflare Access sign-in (core/auth/access.ts checks them when an assertion arrives).
  accessTeamDomain: z.string().optional(),
  accessAud: z.string().optional(),
  accessPrincipals: z.string().optional(),
})
export type Settings = z.infer<typeof settingsSchema>

const cache = new WeakMap<object, Settings>()

/** Validates the environment's settings once per isolate. */
export function settings(env: Env): Settings {
  let s = cache.get(env)
  if (!s) {
    s = settingsSchema.parse({
      adminToken: env.ADMIN_TOKEN || undefined,
      hotRetentionDays: env.HOT_RETENTION_DAYS,
      proofCheckpointIntervalSeconds: env.PROOF_CHECKPOINT_INTERVAL_SECONDS,
      accessTeamDomain: env.ACCESS_TEAM_DOMAIN || undefined,
      accessAud: env.ACCESS_AUD || undefined,
      accessPrincipals: env.ACCESS_PRINCIPALS || undefined,
    })
    cache.set(env, s)
  }
  return s
}

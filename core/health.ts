// The deep health check (GET /healthz?deep=1): can the Worker reach what it needs? Each D1 shard answers a
// query, R2 lists, the queue bindings are there (nothing is sent) and the signing key ring loads
// with a key that can sign now. Each check runs at once and is bounded in time; one failing
// makes the whole "degraded".
import { shards } from './db/shards'
import type { Env } from './env'
import { keyRing } from './integrity/issue-checkpoint'
import { activeKey, isDevelopmentKey } from './integrity/signing-keys'

export type HealthCheck = { ok: boolean; ms: number; error?: string } & Record<string, unknown>
export type HealthReport = { status: 'ok' | 'degraded'; checks: Record<string, HealthCheck> }

export const HEALTH_CHECK_TIMEOUT_MS = 3_000

async function timed(
  run: () => Promise<Record<string, unknown> | undefined>,
  timeoutMs: number,
): Promise<HealthCheck> {
  const started = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const facts = await Promise.race([run(), timeout])
    return { ok: facts?.ok !== false, ms: Date.now() - started, ...facts } as HealthCheck
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) }
  } finally {
    clearTimeout(timer)
  }
}

export async function deepHealth(
  env: Env,
  { timeoutMs = HEALTH_CHECK_TIMEOUT_MS }: { timeoutMs?: number } = {},
): Promise<HealthReport> {
  const [d1, r2, queue, signingKeys] = await Promise.all([
    timed(async () => {
      // Every shard answers (the first is also the directory).
      const all = shards(env)
      await Promise.all(all.map((s) => s.d1.prepare('SELECT 1 AS ok').first()))
      return { shards: all.length }
    }, timeoutMs),
    timed(async () => {
      await env.ARCHIVE.list({ limit: 1 })
      return undefined
    }, timeoutMs),
    timed(async () => {
      const missing = (['EVENTS_QUEUE', 'DEAD_LETTER_QUEUE'] as const).filter(
        (name) => typeof env[name]?.send !== 'function',
      )
      return missing.length === 0
        ? undefined
        : { ok: false, error: `queue binding missing: ${missing.join(', ')}` }
    }, timeoutMs),
    timed(async () => {
      const ring = await keyRing(env)
      const facts = { keys: ring.length, development: ring.length > 0 && ring.every(isDevelopmentKey) }
      try {
        return { ...facts, active: activeKey(ring, new Date().toISOString()).spec.id }
      } catch (err) {
        return { ok: false, ...facts, error: err instanceof Error ? err.message : String(err) }
      }
    }, timeoutMs),
  ])
  const checks = { d1, r2, queue, signing_keys: signingKeys }
  return { status: Object.values(checks).every((c) => c.ok) ? 'ok' : 'degraded', checks }
}

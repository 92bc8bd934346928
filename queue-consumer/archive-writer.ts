// The consumer's side of archive flushes (core/archive/segment-writer.ts): after a commit, the
// tenant's due segments are written; while some stay pending, a delayed flush message makes sure
// they are written within the age even if the tenant posts nothing more.
import { flushArchive, flushPolicy } from '../core/archive/segment-writer'
import type { Db } from '../core/db/client'
import { tenantDb } from '../core/db/shards'
import type { Env } from '../core/env'

export type FlushMessage = { v: 2; kind: 'flush'; tenant: string }

/** The flush message a queue body holds, or null when it holds events (or anything else). */
export function flushMessageOf(body: unknown): FlushMessage | null {
  let v = body
  if (typeof body === 'string') {
    if (!body.startsWith('{"v":2,"kind":"flush"')) return null
    try {
      v = JSON.parse(body)
    } catch {
      return null
    }
  }
  const m = v as Partial<FlushMessage> | null
  return m?.kind === 'flush' && m.v === 2 && typeof m.tenant === 'string' && m.tenant.length > 0
    ? (m as FlushMessage)
    : null
}

const SLACK_MS = 1500

/**
 * Flushes what is due for the tenant and, when the oldest pending segment is one this run opened
 * (`openedAt`, its segments' created_at), schedules the age flush for it: one message per opening.
 */
export async function flushArchiveOf(env: Env, db: Db, tenant: string, openedAt?: string) {
  const policy = flushPolicy(env)
  const r = await flushArchive(db, env.ARCHIVE, tenant, policy)
  if (r.pending > 0 && openedAt !== undefined && r.oldestPendingAt === openedAt) {
    const body: FlushMessage = { v: 2, kind: 'flush', tenant }
    await env.EVENTS_QUEUE.send(JSON.stringify(body), {
      delaySeconds: Math.ceil((policy.maxAgeMs + SLACK_MS) / 1000),
    })
  }
  return r
}

export async function runFlushMessage(env: Env, m: FlushMessage) {
  const db = await tenantDb(env, m.tenant)
  const policy = flushPolicy(env)
  const r = await flushArchive(db, env.ARCHIVE, m.tenant, policy, { slackMs: SLACK_MS })
  // Still pending (a newer segment, or one that came due later): its own message or the cron has it.
  return r
}

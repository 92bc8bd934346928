// Integrity alarms: what the monitor (cron/monitor.ts) or a verified read
// (core/integrity/verified-read.ts) found wrong with stored data. Invariants:
// - An alarm is stored in D1 and in R2 (`alarms/`, core/archive/layout.ts), logged as one
//   structured error line, and recorded as an `audit_log.integrity.alarm` event in its tenant's
//   chain, so deleting the D1 row does not erase it.
// - Its id is derived from the finding (tenant, kind, seq, expected, found): finding the same thing
//   again raises nothing new, a different finding is a new alarm.
// - An alarm is never cleared: acknowledging one sets who and when, once, and is itself recorded
//   (`audit_log.integrity.alarm.acknowledged`).
import { createHash } from 'node:crypto'
import { alarmKey } from '../archive/layout'
import { type AlarmRow, acknowledgeAlarm, getAlarm, insertAlarms } from '../db/alarms'
import type { Db } from '../db/client'
import { shards, tenantWriteDb } from '../db/shards'
import type { Env } from '../env'
import { conflict, notFound } from '../errors'
import { recordServiceEvents } from '../ingest/service-events'

export const ALARM_KINDS = [
  'body_mismatch',
  'column_mismatch',
  'leaf_mismatch',
  'rows_missing',
  'leaves_gap',
  'subtree_mismatch',
  'root_mismatch',
  'head_mismatch',
  'checkpoint_invalid',
  'archive_mismatch',
  'archive_line_invalid',
] as const
export type AlarmKind = (typeof ALARM_KINDS)[number]

export type Finding = {
  tenant: string
  kind: AlarmKind
  seq?: number
  detail: string
  expected?: string
  found?: string
}

/** The alarm as the API shows it (GET /v1/integrity/status). */
export function alarmView(a: AlarmRow) {
  return {
    id: a.id,
    kind: a.kind,
    tenant: a.tenant,
    ...(a.seq !== null ? { seq: a.seq } : {}),
    detail: a.detail,
    raised_at: a.raisedAt,
    ...(a.acknowledgedAt
      ? { acknowledged_at: a.acknowledgedAt, acknowledged_by: a.acknowledgedBy, note: a.ackNote }
      : {}),
  }
}
export type AlarmView = ReturnType<typeof alarmView>

function alarmId(f: Finding): string {
  const key = [
    f.tenant,
    f.kind,
    f.seq ?? '',
    f.expected ?? '',
    f.found ?? '',
    f.expected || f.found ? '' : f.detail,
  ]
  return `alm_${createHash('sha256').update(key.join('\n')).digest('hex').slice(0, 24)}`
}

/** Stores, publishes, logs and records the findings not raised before; returns the new alarms. */
export async function raiseAlarms(env: Env, findings: Finding[], cause = 'monitor'): Promise<AlarmView[]> {
  if (findings.length === 0) return []
  const now = new Date().toISOString()
  const rows = findings.map((f) => ({
    id: alarmId(f),
    tenant: f.tenant,
    kind: f.kind,
    seq: f.seq ?? null,
    detail:
      f.expected !== undefined || f.found !== undefined
        ? `${f.detail} (expected ${f.expected ?? '-'}, found ${f.found ?? '-'})`
        : f.detail,
    raisedAt: now,
    acknowledgedAt: null,
    acknowledgedBy: null,
    ackNote: null,
  }))
  const fresh = new Set<string>()
  for (const tenant of new Set(rows.map((r) => r.tenant))) {
    const db = await tenantWriteDb(env, tenant)
    for (const id of await insertAlarms(
      db,
      rows.filter((r) => r.tenant === tenant),
    ))
      fresh.add(id)
  }
  const raised = rows.filter((r) => fresh.has(r.id)).map(alarmView)
  const byTenant = new Map<string, AlarmView[]>()
  for (const a of raised) {
    console.error(JSON.stringify({ msg: 'integrity alarm', cause, ...a }))
    await env.ARCHIVE.put(alarmKey(a), JSON.stringify(a), {
      httpMetadata: { contentType: 'application/json' },
    })
    byTenant.set(a.tenant, [...(byTenant.get(a.tenant) ?? []), a])
  }
  for (const [tenant, list] of byTenant) {
    await recordServiceEvents(
      env.EVENTS_QUEUE,
      tenant,
      list.map((a) => ({
        action: 'audit_log.integrity.alarm',
        actor: { type: 'system', id: `audit-log-${cause}` },
        target: { type: 'audit_log', id: tenant },
        outcome: { status: 'failure', code: a.kind, reason: a.detail.slice(0, 1024) },
        metadata: { alarm_id: a.id, kind: a.kind, seq: a.seq ?? null },
      })),
      { keyId: 'system', requestId: `${cause}-${now}` },
    )
  }
  return raised
}

/** Acknowledges an alarm of `tenant` (undefined: the operator, any tenant) and records who did. */
export async function acknowledge(
  env: Env,
  o: { id: string; tenant: string | undefined; by: string; note?: string; requestId: string },
): Promise<AlarmView> {
  // A tenant's alarm is on its shard; the operator's may be on any.
  let db: Db | undefined
  let alarm: AlarmRow | undefined
  for (const candidate of o.tenant !== undefined
    ? [await tenantWriteDb(env, o.tenant)]
    : shards(env).map((s) => s.db)) {
    alarm = await getAlarm(candidate, o.id)
    if (alarm) {
      db = candidate
      break
    }
  }
  if (!alarm || !db || (o.tenant !== undefined && alarm.tenant !== o.tenant))
    throw notFound(`No alarm "${o.id}".`)
  const at = new Date().toISOString()
  if (!(await acknowledgeAlarm(db, o.id, o.by, o.note ?? null, at)))
    throw conflict(`Alarm "${o.id}" was acknowledged already, at ${alarm.acknowledgedAt}.`)
  await recordServiceEvents(
    env.EVENTS_QUEUE,
    alarm.tenant,
    [
      {
        action: 'audit_log.integrity.alarm.acknowledged',
        actor: o.by === 'admin-token' ? { type: 'system', id: 'admin-token' } : { type: 'api_key', id: o.by },
        target: { type: 'integrity_alarm', id: o.id },
        metadata: { kind: alarm.kind, note: o.note ?? null },
      },
    ],
    { keyId: o.by, requestId: o.requestId },
  )
  return alarmView({ ...alarm, acknowledgedAt: at, acknowledgedBy: o.by, ackNote: o.note ?? null })
}

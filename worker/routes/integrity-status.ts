import { createRoute, z } from '@hono/zod-openapi'
import { countOpenAlarms, listAlarms } from '../../core/db/alarms'
import { monitorStates } from '../../core/db/monitor'
import { shards, tenantDb } from '../../core/db/shards'
import { ALARM_KINDS, acknowledge, alarmView } from '../../core/integrity/alarms'
import { pageLimitSchema } from '../../core/limits'
import { requireScope, tenantScopeOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const alarmSchema = z
  .object({
    id: z.string(),
    kind: z.enum(ALARM_KINDS),
    tenant: z.string(),
    seq: z.number().int().optional(),
    detail: z.string(),
    raised_at: z.string(),
    acknowledged_at: z.string().optional(),
    acknowledged_by: z.string().nullable().optional(),
    note: z.string().nullable().optional(),
  })
  .openapi('IntegrityAlarm')

const statusSchema = z
  .object({
    status: z.enum(['ok', 'alarm']),
    checked_at: z.string().nullable(),
    alarms: z.array(alarmSchema),
  })
  .openapi('IntegrityStatus', {
    example: { status: 'ok', checked_at: '2026-01-31T12:05:00.000Z', alarms: [] },
  })

const authErrors = {
  401: problemResponse('Missing or unknown credentials'),
  403: problemResponse('Not allowed'),
}

export const integrityStatusRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/integrity/status',
      operationId: 'integrityStatus',
      tags: ['Integrity'],
      summary: "What the integrity monitor found: the tenant's alarms (the admin token: every tenant's)",
      description:
        'status is "alarm" while any alarm is unacknowledged. checked_at is when the monitor last finished a sweep (null before its first). Alarms are listed newest first, acknowledged ones with who and when.',
      security: bearerSecurity,
      middleware: [requireScope('events:read', { allowAdminToken: true })] as const,
      request: { query: z.object({ limit: pageLimitSchema }).strict() },
      responses: {
        200: { description: 'Status', content: { 'application/json': { schema: statusSchema } } },
        400: problemResponse('Invalid query'),
        ...authErrors,
      },
    }),
    async function integrityStatus(c) {
      const tenant = tenantScopeOf(c.get('auth'))
      const { limit } = c.req.valid('query')
      // A tenant's alarms are on its shard; the operator's view is every shard's, merged.
      const dbs = tenant !== undefined ? [await tenantDb(c.env, tenant)] : shards(c.env).map((s) => s.db)
      const parts = await Promise.all(
        dbs.map((db) =>
          Promise.all([
            countOpenAlarms(db, tenant),
            listAlarms(db, tenant, limit),
            monitorStates(db, tenant),
          ]),
        ),
      )
      const open = parts.reduce((n, [o]) => n + o, 0)
      const alarms = parts
        .flatMap(([, a]) => a)
        .sort((x, y) => (x.raisedAt < y.raisedAt ? 1 : x.raisedAt > y.raisedAt ? -1 : x.id < y.id ? 1 : -1))
        .slice(0, limit)
      const states = parts.flatMap(([, , s]) => s)
      const swept = states.map((s) => s.lastSweepAt).filter((t): t is string => t !== null)
      return c.json(
        {
          status: open > 0 ? ('alarm' as const) : ('ok' as const),
          checked_at: swept.length > 0 ? swept.sort().at(-1)! : null,
          alarms: alarms.map(alarmView) as z.infer<typeof alarmSchema>[],
        },
        200,
      )
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/integrity/alarms/{id}/acknowledge',
      operationId: 'acknowledgeAlarm',
      tags: ['Integrity'],
      summary: 'Acknowledge an alarm (recorded as audit_log.integrity.alarm.acknowledged; never cleared)',
      security: bearerSecurity,
      middleware: [requireScope('admin', { allowAdminToken: true })] as const,
      request: {
        params: z.object({ id: z.string().min(1).max(64) }),
        body: {
          required: false,
          content: {
            'application/json': {
              schema: z.object({ note: z.string().min(1).max(1024).optional() }).strict(),
            },
          },
        },
      },
      responses: {
        200: { description: 'Acknowledged', content: { 'application/json': { schema: alarmSchema } } },
        400: problemResponse('Invalid body'),
        ...authErrors,
        404: problemResponse('No such alarm in this tenant'),
        409: problemResponse('Already acknowledged'),
      },
    }),
    async function acknowledgeAlarm(c) {
      const auth = c.get('auth')
      const body = c.req.header('content-type') ? c.req.valid('json') : {}
      const alarm = await acknowledge(c.env, {
        id: c.req.valid('param').id,
        tenant: tenantScopeOf(auth),
        by:
          auth.kind === 'admin-token'
            ? 'admin-token'
            : auth.kind === 'access'
              ? `access:${auth.email}`
              : auth.keyId,
        note: body.note,
        requestId: c.get('requestId'),
      })
      return c.json(alarm as z.infer<typeof alarmSchema>, 200)
    },
  )

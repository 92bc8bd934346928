// Data subjects (docs/privacy.md): erasure by crypto-shredding and what is held, tenant admin only.
import { createRoute, z } from '@hono/zod-openapi'
import { tenantDb, tenantWriteDb } from '../../core/db/shards'
import { eraseSubject, subjectReport } from '../../core/privacy/subjects'
import { keyOf, requireScope } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const params = z.object({
  actor_id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ description: "The subject: an events' actor.id in the key's tenant", example: 'u_42' }),
})

const erasureSchema = z
  .object({
    subject: z.string(),
    erased_at: z
      .string()
      .openapi({ description: 'When the subject was erased (the first time, on a repeat)' }),
    keys_erased: z
      .number()
      .int()
      .nonnegative()
      .openapi({ description: 'Data keys destroyed by that erasure' }),
    repeated: z
      .boolean()
      .openapi({ description: 'true when the subject was already erased: nothing changed' }),
  })
  .strict()
  .openapi('SubjectErasure', {
    example: { subject: 'u_42', erased_at: '2026-02-01T09:00:00.000Z', keys_erased: 1, repeated: false },
  })

const reportSchema = z
  .object({
    subject: z.string(),
    tenant: z.string(),
    events: z
      .object({
        total: z.number().int().nonnegative(),
        by_class: z.record(z.string(), z.number().int().nonnegative()),
      })
      .strict()
      .openapi({
        description: 'Events whose actor is the subject, in D1 (the hot window), by retention class',
      }),
    fields: z
      .array(
        z
          .object({ path: z.string(), kind: z.enum(['seal', 'hash']), count: z.number().int().positive() })
          .strict(),
      )
      .openapi({ description: 'Protected values held in those events, by field' }),
    keys: z.array(
      z
        .object({
          key_id: z.string(),
          created_at: z.string(),
          erased_at: z.string().nullable(),
          erased_by: z.string().nullable(),
        })
        .strict(),
    ),
    erased: z.boolean().openapi({ description: 'true when no data key of the subject is left' }),
    erased_at: z.string().nullable(),
  })
  .strict()
  .openapi('SubjectReport', {
    example: {
      subject: 'u_42',
      tenant: 'acme',
      events: { total: 3, by_class: { standard: 2, auth: 1 } },
      fields: [
        { path: 'actor.email', kind: 'seal', count: 3 },
        { path: 'context.ip', kind: 'seal', count: 2 },
      ],
      keys: [
        {
          key_id: 'Zk3y1d0000000000',
          created_at: '2026-01-15T10:00:00.000Z',
          erased_at: null,
          erased_by: null,
        },
      ],
      erased: false,
      erased_at: null,
    },
  })

const errors = {
  400: problemResponse('Invalid subject'),
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('Key lacks the admin scope'),
}

export const subjectRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/subjects/{actor_id}/erasure',
      operationId: 'eraseSubject',
      tags: ['Privacy'],
      summary: "Erase a subject's personal data (crypto-shredding)",
      description:
        'Destroys the subject\'s data keys: every sealed value of the subject, in D1, R2, the S3 mirror, exports, Athena and backups, can no longer be read, and the API shows "[erased]". Hashes and proofs are unchanged. Recorded as audit_log.subject.erased (its actor is the key). Repeating it changes nothing. Later events of the subject are sealed under a new key.',
      security: bearerSecurity,
      middleware: [requireScope('admin')] as const,
      request: { params },
      responses: {
        200: { description: 'Erased', content: { 'application/json': { schema: erasureSchema } } },
        ...errors,
        503: problemResponse('The queue is unavailable: the erasure stands; retry to record it'),
      },
    }),
    async function eraseSubjectRoute(c) {
      const { tenant, keyId } = keyOf(c.get('auth'))
      const erasure = await eraseSubject(await tenantWriteDb(c.env, tenant), c.env.EVENTS_QUEUE, {
        tenant,
        subject: c.req.valid('param').actor_id,
        keyId,
        requestId: c.get('requestId'),
      })
      return c.json(erasure, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/subjects/{actor_id}',
      operationId: 'getSubject',
      tags: ['Privacy'],
      summary: 'What is held for a subject (for access requests)',
      security: bearerSecurity,
      middleware: [requireScope('admin')] as const,
      request: { params },
      responses: {
        200: { description: 'The report', content: { 'application/json': { schema: reportSchema } } },
        ...errors,
      },
    }),
    async function getSubject(c) {
      const { tenant } = keyOf(c.get('auth'))
      const report = await subjectReport(await tenantDb(c.env, tenant), tenant, c.req.valid('param').actor_id)
      return c.json(report as z.infer<typeof reportSchema>, 200)
    },
  )

import { createRoute, z } from '@hono/zod-openapi'
import { listCheckpoints } from '../../core/db/checkpoints'
import { database } from '../../core/db/client'
import { keyRing } from '../../core/integrity/issue-checkpoint'
import { consistencyProofOf, inclusionProofOf } from '../../core/integrity/proofs'
import { publicKeyDocument } from '../../core/integrity/signing-keys'
import { pageLimitSchema } from '../../core/limits'
import { recordRead } from '../audit-reads'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const json = z.record(z.string(), z.any())
const readErrors = {
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('Key lacks events:read'),
}

export const integrityRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/audit-log-keys',
      tags: ['Integrity'],
      summary: 'Public keys that sign checkpoints, with ids and validity periods',
      responses: { 200: { description: 'Key document', content: { 'application/json': { schema: json } } } },
    }),
    async function getSigningKeys(c) {
      c.header('cache-control', 'public, max-age=300')
      return c.json(publicKeyDocument(await keyRing(c.env)) as unknown as Record<string, never>, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/integrity/checkpoints',
      tags: ['Integrity'],
      summary: "The tenant's signed checkpoints, newest first",
      security: bearerSecurity,
      middleware: [requireScope('events:read')] as const,
      request: { query: z.object({ limit: pageLimitSchema }).strict() },
      responses: {
        200: {
          description: 'Checkpoints',
          content: { 'application/json': { schema: z.object({ data: z.array(json) }) } },
        },
        400: problemResponse('Invalid query'),
        ...readErrors,
      },
    }),
    async function listTenantCheckpoints(c) {
      const tenant = tenantOf(c.get('auth'))
      const data = await listCheckpoints(database(c.env.DB), tenant, c.req.valid('query').limit)
      return c.json({ data: data as unknown as Record<string, never>[] }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/events/{id}/proof',
      tags: ['Integrity'],
      summary: 'RFC 9162 inclusion proof of the event in a signed checkpoint',
      description:
        'Hash the event (leaf = SHA-256(0x00 || JCS(event without hash, prev_hash))), fold the audit path up to the checkpoint root, and check the checkpoint signature against /.well-known/audit-log-keys. A checkpoint is issued on demand if none covers the event yet.',
      security: bearerSecurity,
      middleware: [requireScope('events:read')] as const,
      request: { params: z.object({ id: z.string().min(1).max(128) }) },
      responses: {
        200: { description: 'Proof', content: { 'application/json': { schema: json } } },
        404: problemResponse('No such event in this tenant'),
        ...readErrors,
      },
    }),
    async function getProof(c) {
      const { id } = c.req.valid('param')
      const proof = await inclusionProofOf(c.env, database(c.env.DB), tenantOf(c.get('auth')), id)
      recordRead(c, 'audit_log.read', { type: 'audit_event', id }, { event_id: id, proof: true })
      return c.json(proof as unknown as Record<string, never>, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/integrity/consistency',
      tags: ['Integrity'],
      summary: 'RFC 9162 consistency proof: the tree of `from` events is a prefix of the tree of `to`',
      description:
        "Lets a client holding an older checkpoint check that a newer one extends it (no history was rewritten or forked): verify the proof from the older checkpoint's (seq, root) to the newer one's.",
      security: bearerSecurity,
      middleware: [requireScope('events:read')] as const,
      request: {
        query: z
          .object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1) })
          .strict()
          .refine((q) => q.from <= q.to, { message: 'from must not exceed to', path: ['from'] }),
      },
      responses: {
        200: { description: 'Proof', content: { 'application/json': { schema: json } } },
        400: problemResponse('Invalid sizes'),
        404: problemResponse('The chain is shorter than `to`'),
        ...readErrors,
      },
    }),
    async function getConsistency(c) {
      const { from, to } = c.req.valid('query')
      const proof = await consistencyProofOf(database(c.env.DB), tenantOf(c.get('auth')), from, to)
      return c.json(proof, 200)
    },
  )

import { createRoute, z } from '@hono/zod-openapi'
import { readInScope } from '../../core/auth/viewer-scope'
import { listCheckpoints } from '../../core/db/checkpoints'
import { tenantDb } from '../../core/db/shards'
import { storedEventSchema } from '../../core/ingest/stored-event'
import {
  publicKeyDocumentSchema,
  publicKeyEntrySchema,
  signedCheckpointSchema,
} from '../../core/integrity/checkpoint'
import { keyRing } from '../../core/integrity/issue-checkpoint'
import { consistencyProofOf, inclusionProofOf } from '../../core/integrity/proofs'
import { hexHash } from '../../core/integrity/sha256'
import { publicKeyDocument } from '../../core/integrity/signing-keys'
import { pageLimitSchema } from '../../core/limits'
import { readEventById } from '../../core/search/event-by-id'
import { recordRead } from '../audit-reads'
import { goneResponse } from '../expired-problem'
import { requireScope, tenantOf } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

// Schemas made by modules that import plain zod are cloned before .openapi(): a zod schema
// has the method only when made after @hono/zod-openapi extended zod, and module order decides that.
const checkpointSchema = signedCheckpointSchema.clone().openapi('Checkpoint', {
  description:
    'The chain head (seq, hash) and the RFC 6962 Merkle root of leaves 1..seq, signed with Ed25519 over the JCS bytes of every field but signature',
})

const keyDocumentSchema = publicKeyDocumentSchema
  .extend({ keys: z.array(publicKeyEntrySchema.clone().openapi('SigningKey')) })
  .openapi('SigningKeyDocument', {
    description: 'development is true when every key is a local development key (never trust those)',
  })

const proofSchema = z
  .object({
    event: z
      .object({
        id: z.string(),
        seq: z.number().int().positive(),
        leaf_hash: hexHash,
        hash: hexHash,
        prev_hash: hexHash,
      })
      .strict(),
    record: storedEventSchema.openapi('StoredRecord', {
      description:
        'The exact stored record (as archived): what the leaf hash covers. changes[].before/after are JSON text here.',
    }),
    checkpoint: checkpointSchema,
    inclusion_proof: z
      .object({
        leaf_index: z.number().int().nonnegative(),
        tree_size: z.number().int().positive(),
        hashes: z.array(hexHash),
      })
      .strict()
      .openapi('InclusionProof'),
  })
  .strict()
  .openapi('EventProof')

const consistencySchema = z
  .object({
    from_size: z.number().int().positive(),
    to_size: z.number().int().positive(),
    from_root: hexHash,
    to_root: hexHash,
    proof: z.array(hexHash),
  })
  .strict()
  .openapi('ConsistencyProof')

const readErrors = {
  401: problemResponse('Missing or unknown API key'),
  403: problemResponse('Key lacks events:read'),
}

export const integrityRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/audit-log-keys',
      operationId: 'getSigningKeys',
      tags: ['Integrity'],
      security: [],
      summary: 'Public keys that sign checkpoints, with ids and validity periods',
      responses: {
        200: { description: 'Key document', content: { 'application/json': { schema: keyDocumentSchema } } },
      },
    }),
    async function getSigningKeys(c) {
      c.header('cache-control', 'public, max-age=300')
      return c.json(publicKeyDocument(await keyRing(c.env)), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/integrity/checkpoints',
      operationId: 'listTenantCheckpoints',
      tags: ['Integrity'],
      summary: "The tenant's signed checkpoints, newest first",
      security: bearerSecurity,
      middleware: [requireScope('events:read', { allowViewer: true })] as const,
      request: { query: z.object({ limit: pageLimitSchema }).strict() },
      responses: {
        200: {
          description: 'Checkpoints',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(checkpointSchema) }).openapi('CheckpointList'),
            },
          },
        },
        400: problemResponse('Invalid query'),
        ...readErrors,
      },
    }),
    async function listTenantCheckpoints(c) {
      const tenant = tenantOf(c.get('auth'))
      const data = await listCheckpoints(await tenantDb(c.env, tenant), tenant, c.req.valid('query').limit)
      return c.json({ data }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/events/{id}/proof',
      operationId: 'getProof',
      tags: ['Integrity'],
      summary: 'RFC 9162 inclusion proof of the event in a signed checkpoint',
      description:
        'Hash the event (leaf = SHA-256(0x00 || JCS(event without hash, prev_hash))), fold the audit path up to the checkpoint root, and check the checkpoint signature against /.well-known/audit-log-keys. A checkpoint is issued on demand if none covers the event yet.',
      security: bearerSecurity,
      middleware: [requireScope('events:read', { allowViewer: true })] as const,
      request: { params: z.object({ id: z.string().min(1).max(128) }) },
      responses: {
        200: { description: 'Proof', content: { 'application/json': { schema: proofSchema } } },
        404: problemResponse('No such event in this tenant'),
        410: goneResponse,
        503: problemResponse('No checkpoint covers the event yet; Retry-After says when one can be issued'),
        ...readErrors,
      },
    }),
    async function getProof(c) {
      const { id } = c.req.valid('param')
      const auth = c.get('auth')
      const db = await tenantDb(c.env, tenantOf(auth))
      // A viewer token's proof: only of an event inside its scope (else the answer of an unknown id).
      if (auth.kind === 'viewer')
        await readInScope(auth.scope, () => readEventById(db, c.env.ARCHIVE, auth.tenant, id), id)
      const proof = await inclusionProofOf(c.env, db, tenantOf(auth), id)
      recordRead(c, 'audit_log.read', { type: 'audit_event', id }, { event_id: id, proof: true })
      return c.json(proof as z.infer<typeof proofSchema>, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/integrity/consistency',
      operationId: 'getConsistency',
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
        200: { description: 'Proof', content: { 'application/json': { schema: consistencySchema } } },
        400: problemResponse('Invalid sizes'),
        404: problemResponse('The chain is shorter than `to`'),
        ...readErrors,
      },
    }),
    async function getConsistency(c) {
      const { from, to } = c.req.valid('query')
      const proof = await consistencyProofOf(
        await tenantDb(c.env, tenantOf(c.get('auth'))),
        tenantOf(c.get('auth')),
        from,
        to,
      )
      return c.json(proof, 200)
    },
  )

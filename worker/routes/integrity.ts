import { createRoute, z } from '@hono/zod-openapi'
import { checkpointCovering, listCheckpoints } from '../../core/db/checkpoints'
import { database } from '../../core/db/client'
import { getChainHead, getEventBody } from '../../core/db/events'
import { withStoredTree } from '../../core/db/tree'
import { notFound } from '../../core/errors'
import type { StoredEvent } from '../../core/ingest/stored-event'
import { hashedContent, leafHash } from '../../core/integrity/chain'
import {
  consistencyPath,
  inclusionPath,
  verifyConsistency,
  verifyInclusion,
} from '../../core/integrity/merkle'
import { publicKeyDocument } from '../../core/integrity/signing-keys'
import { issueCheckpoint, keyRing } from '../../queue-consumer/checkpoints'
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
    async (c) => {
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
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict() },
      responses: {
        200: {
          description: 'Checkpoints',
          content: { 'application/json': { schema: z.object({ data: z.array(json) }) } },
        },
        400: problemResponse('Invalid query'),
        ...readErrors,
      },
    }),
    async (c) => {
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
    async (c) => {
      const { id } = c.req.valid('param')
      const tenant = tenantOf(c.get('auth'))
      const db = database(c.env.DB)
      const body = await getEventBody(db, tenant, id)
      if (!body) throw notFound(`No event "${id}".`)
      const event = JSON.parse(body) as StoredEvent
      const leaf = await leafHash(hashedContent(event))
      const checkpoint =
        (await checkpointCovering(db, tenant, event.seq)) ?? (await issueCheckpoint(c.env, tenant))
      if (!checkpoint || checkpoint.seq < event.seq) throw new Error(`no checkpoint covers seq ${event.seq}`)
      const m = event.seq - 1
      const { hashes, stored } = await withStoredTree(db, tenant, (rr) => ({
        hashes: inclusionPath(m, checkpoint.seq, rr),
        stored: rr(m, m + 1),
      }))
      if (stored !== leaf || !verifyInclusion(leaf, m, checkpoint.seq, hashes, checkpoint.root)) {
        throw new Error(`stored tree of ${tenant} does not prove seq ${event.seq}`)
      }
      recordRead(c, 'audit_log.read', { type: 'audit_event', id }, { event_id: id, proof: true })
      return c.json(
        {
          event: { id, seq: event.seq, leaf_hash: leaf, hash: event.hash, prev_hash: event.prev_hash },
          // The exact stored record (as archived), which is what the leaf hash covers.
          record: event,
          checkpoint,
          inclusion_proof: { leaf_index: event.seq - 1, tree_size: checkpoint.seq, hashes },
        } as unknown as Record<string, never>,
        200,
      )
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
    async (c) => {
      const { from, to } = c.req.valid('query')
      const tenant = tenantOf(c.get('auth'))
      const db = database(c.env.DB)
      const length = (await getChainHead(db, tenant))?.seq ?? 0
      if (length < to) throw notFound(`The chain of this tenant has ${length} events, fewer than ${to}.`)
      const { proof, fromRoot, toRoot } = await withStoredTree(db, tenant, (rr) => ({
        proof: consistencyPath(from, to, rr),
        fromRoot: rr(0, from),
        toRoot: rr(0, to),
      }))
      if (!verifyConsistency(from, to, proof, fromRoot, toRoot))
        throw new Error(`stored tree of ${tenant} is inconsistent`)
      return c.json({ from_size: from, to_size: to, from_root: fromRoot, to_root: toRoot, proof }, 200)
    },
  )

import { createRoute, z } from '@hono/zod-openapi'
import { compactClosedDays } from '../../core/archive/compaction-sweep'
import { MIRRORED_PREFIXES, manifestSchema } from '../../core/archive/layout'
import { mirrorStatus, reconcileMirror } from '../../core/archive/mirror'
import { notFound } from '../../core/errors'
import { requireAdminToken } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const operatorOnly = requireAdminToken()
const disabled = z
  .object({ enabled: z.literal(false), reason: z.string() })
  .strict()
  .openapi('MirrorDisabled', { description: 'No S3 mirror is configured' })
const cursor = z
  .object({ prefix: z.string(), after: z.string() })
  .strict()
  .openapi({ description: "Where the reconciler's sweep stands" })

const mirrorStatusSchema = z
  .union([
    disabled,
    z
      .object({
        enabled: z.literal(true),
        r2_objects: z.number().int().nonnegative(),
        s3_objects: z.number().int().nonnegative(),
        missing_objects: z.number().int().nonnegative(),
        missing_bytes: z.number().int().nonnegative(),
        s3_only_objects: z.number().int().nonnegative(),
        oldest_missing: z.array(z.string()).openapi({ description: 'At most 20 keys' }),
        cursor,
        sweeps: z.number().int().nonnegative(),
        last_sweep_at: z.string().nullable(),
      })
      .strict()
      .openapi('MirrorBacklog'),
  ])
  .openapi('ArchiveStatus')

const compactionSchema = z
  .object({
    compacted: z.number().int().nonnegative(),
    manifests: z.array(manifestSchema.clone().openapi('Manifest')),
    failed: z.array(z.object({ tenant: z.string(), dt: z.string(), error: z.string() }).strict()),
  })
  .strict()
  .openapi('Compaction')

const reconcileSchema = z
  .union([
    disabled.extend({
      copied: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      deleted: z.number().int().nonnegative(),
    }),
    z
      .object({
        enabled: z.literal(true),
        copied: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        deleted: z.number().int().nonnegative(),
        compared: z.number().int().nonnegative(),
        pages: z.number().int().nonnegative(),
        sweep_finished: z.boolean(),
        cursor,
        s3_only_kept: z.array(z.string()).openapi({ description: 'At most 20 keys' }),
      })
      .strict(),
  ])
  .openapi('MirrorReconcile')
/** The archive's public part: what the S3 mirror holds and what a copy for the verifier needs. */
const copied = (key: string) =>
  MIRRORED_PREFIXES.some((p) => key.startsWith(p)) && !key.split('/').includes('..')
const errors = { 401: problemResponse('Missing or unknown credentials'), 403: problemResponse('Not allowed') }

export const archiveRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/archive/status',
      operationId: 'getArchiveStatus',
      tags: ['Operations'],
      summary: 'Mirror backlog: archive objects in R2 not yet (or not identically) in S3',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      responses: {
        200: { description: 'Status', content: { 'application/json': { schema: mirrorStatusSchema } } },
        ...errors,
      },
    }),
    async function getArchiveStatus(c) {
      return c.json(await mirrorStatus(c.env), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/archive/compact',
      operationId: 'compactArchive',
      tags: ['Operations'],
      summary: 'Compact closed days now (the cron does it every 5 minutes)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: {
        query: z.object({ grace_days: z.coerce.number().int().min(0).max(365).default(1) }).strict(),
      },
      responses: {
        200: {
          description: 'Manifests written',
          content: { 'application/json': { schema: compactionSchema } },
        },
        400: problemResponse('Invalid query'),
        ...errors,
      },
    }),
    async function compactArchive(c) {
      const { manifests, failed } = await compactClosedDays(c.env.ARCHIVE, {
        graceDays: c.req.valid('query').grace_days,
      })
      return c.json({ compacted: manifests.length, manifests, failed }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/archive/reconcile',
      operationId: 'reconcileArchive',
      tags: ['Operations'],
      summary: 'Run one bounded step of the mirror reconciler now (the cron runs one every 5 minutes)',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { query: z.object({ max: z.coerce.number().int().min(1).max(10_000).default(500) }).strict() },
      responses: {
        200: {
          description: 'What was copied',
          content: { 'application/json': { schema: reconcileSchema } },
        },
        400: problemResponse('Invalid query'),
        ...errors,
      },
    }),
    async function reconcileArchive(c) {
      const report = await reconcileMirror(c.env, { maxCopies: c.req.valid('query').max })
      return c.json(report, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/archive/objects',
      operationId: 'listArchiveObjects',
      tags: ['Operations'],
      summary: 'List archive objects (events/, checkpoints/, manifests/), one page at a time',
      description:
        'Keys outside events/, checkpoints/ and manifests/ are never listed. A page may hold fewer than `limit` keys (even none) and still have a next cursor.',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: {
        query: z
          .object({
            prefix: z.string().max(512).default(''),
            cursor: z.string().max(1024).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(1000),
          })
          .strict(),
      },
      responses: {
        200: {
          description: 'One page of keys',
          content: {
            'application/json': {
              schema: z.object({
                objects: z.array(
                  z.object({ key: z.string(), size: z.number(), etag: z.string(), uploaded: z.string() }),
                ),
                next_cursor: z.string().nullable(),
              }),
            },
          },
        },
        400: problemResponse('Invalid query'),
        ...errors,
      },
    }),
    async function listArchiveObjects(c) {
      const { prefix, cursor, limit } = c.req.valid('query')
      const page = await c.env.ARCHIVE.list({ prefix, cursor, limit })
      const objects = page.objects
        .filter((o) => copied(o.key))
        .map((o) => ({ key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded.toISOString() }))
      return c.json({ objects, next_cursor: page.truncated ? page.cursor : null }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/archive/objects/{key}',
      operationId: 'getArchiveObject',
      tags: ['Operations'],
      summary: 'Stream one archive object as stored (the gzip bytes of an events file, as is)',
      description: 'The key is URL-encoded as one path segment (`/` as `%2F`).',
      security: bearerSecurity,
      middleware: [operatorOnly] as const,
      request: { params: z.object({ key: z.string().min(1).max(1024) }) },
      responses: {
        200: {
          description: 'The raw bytes',
          content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
        },
        404: problemResponse('No such archive object'),
        ...errors,
      },
    }),
    async function getArchiveObject(c) {
      const { key } = c.req.valid('param')
      const obj = copied(key) ? await c.env.ARCHIVE.get(key) : null
      if (!obj) throw notFound(`No archive object ${key} under events/, checkpoints/ or manifests/.`)
      // No Content-Encoding: the bytes go out exactly as stored, so clients do not decode them.
      return c.body(obj.body, 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(obj.size),
        etag: obj.httpEtag,
      })
    },
  )

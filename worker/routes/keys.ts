import { createRoute, z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { database } from '../../core/db/client'
import { listKeys, SCOPES } from '../../core/db/keys'
import { DomainError, forbidden } from '../../core/errors'
import { timestampSchema } from '../../core/ingest/event-schema'
import { mediaTypeOf } from '../../core/ingest/formats'
import {
  KEY_MAX_LIFETIME_DAYS,
  KEY_MAX_LIFETIME_MS,
  type KeyManager,
  mintApiKey,
  revokeApiKey,
  tenantSchema,
} from '../../core/keys/api-keys'
import { LIMITS } from '../../core/limits'
import type { AppEnv, Auth } from '../context'
import { parseJson, readBodyText } from '../ingest/read-body'
import { forgetCachedKey, requireScope, tenantScopeOf, VIEWER_READ_ONLY } from '../middleware/auth'
import { bearerSecurity, problemResponse, router } from '../openapi'

const keySchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.enum(SCOPES)),
    prefix: z.string(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    created_by: z.string().nullable().openapi({
      description:
        'The key id that minted this key, or "admin-token"; null for keys minted before it was kept',
    }),
    expires_at: z.string().nullable().openapi({ description: 'RFC 3339 UTC; null: never expires' }),
    revoked_by: z
      .string()
      .nullable()
      .openapi({ description: 'The key id that revoked it, or "admin-token"' }),
  })
  .openapi('ApiKey')

const expiresAtSchema = timestampSchema
  .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
  .refine(
    (s) => Date.parse(s) <= Date.now() + KEY_MAX_LIFETIME_MS,
    `must be at most ${KEY_MAX_LIFETIME_DAYS} days ahead`,
  )
  .openapi({
    description: `RFC 3339; in the future, at most ${KEY_MAX_LIFETIME_DAYS} days ahead. A key minted by a tenant key never outlives it (absent: the minting key's expiry).`,
    example: '2027-01-31T12:00:00Z',
  })

const createBody = z
  .object({
    tenant: tenantSchema,
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
    name: z.string().min(1).max(128).optional(),
    expires_at: expiresAtSchema.optional(),
  })
  .strict()
  .openapi('CreateApiKey')

const created = z
  .object({
    id: z.string(),
    key: z.string(),
    tenant: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    name: z.string().nullable(),
    prefix: z.string(),
    created_at: z.string(),
    created_by: z.string(),
    expires_at: z.string().nullable(),
  })
  .openapi('CreatedApiKey')

const revoked = keySchema
  .extend({
    revoked: z.array(z.string()).openapi({
      description:
        'Ids of the keys this request revoked (the key, then with cascade the keys it minted, recursively); empty when all were already revoked',
    }),
  })
  .openapi('RevokedApiKey')

const adminOnly = requireScope('admin', { allowAdminToken: true })

/**
 * The body of POST /v1/keys, read the way ingest reads events: JSON only (else 415), at most
 * LIMITS.maxKeysBodyBytes (else 413, without buffering more), valid JSON kept exactly (else
 * 400). The route's schema validator then takes the parsed value from the request's body cache.
 */
const keysJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const mt = mediaTypeOf(c.req.header('content-type'))
  if (mt !== 'application/json')
    throw new DomainError(
      'unsupported_media_type',
      `Content-Type "${mt || '(none)'}" is not accepted here; send application/json.`,
    )
  const body = parseJson(await readBodyText(c.req.raw, LIMITS.maxKeysBodyBytes), 'a JSON object')
  c.req.bodyCache.json = Promise.resolve(body)
  await next()
}

function managerOf(auth: Auth): KeyManager {
  if (auth.kind === 'key') return { kind: 'key', keyId: auth.keyId, tenant: auth.tenant }
  if (auth.kind === 'admin-token') return { kind: 'admin-token' }
  if (auth.kind === 'access')
    return { kind: 'access', email: auth.email, tenant: auth.tenant, scopes: auth.scopes }
  throw forbidden(VIEWER_READ_ONLY)
}

const toView = (k: Awaited<ReturnType<typeof listKeys>>[number]) => ({
  id: k.id,
  tenant: k.tenant,
  name: k.name,
  scopes: k.scopes,
  prefix: k.prefix,
  created_at: k.createdAt,
  revoked_at: k.revokedAt,
  created_by: k.createdBy,
  expires_at: k.expiresAt,
  revoked_by: k.revokedBy,
})

export const keysRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/keys',
      operationId: 'createKey',
      tags: ['Keys'],
      summary: 'Mint an API key for a tenant (the key is shown only in this response)',
      description:
        'Recorded as audit_log.key.created in the tenant before the key exists; if that cannot be recorded, no key is created (503). A tenant admin key mints only for its tenant, within its own scopes, and never a key that outlives it.',
      security: bearerSecurity,
      middleware: [adminOnly, keysJsonBody] as const,
      request: { body: { required: true, content: { 'application/json': { schema: createBody } } } },
      responses: {
        201: { description: 'Created', content: { 'application/json': { schema: created } } },
        400: problemResponse('Invalid body'),
        413: problemResponse(`Body over ${LIMITS.maxKeysBodyBytes} bytes`),
        415: problemResponse('Content-Type is not application/json'),
        401: problemResponse('Missing, unknown, revoked or expired credentials'),
        403: problemResponse('Not allowed (another tenant, a scope or an expiry beyond the minting key)'),
        503: problemResponse('The creation cannot be recorded now; no key was created'),
      },
    }),
    async function createKey(c) {
      const body = c.req.valid('json')
      const { record: rec, key } = await mintApiKey(
        database(c.env.DB),
        c.env.EVENTS_QUEUE,
        { tenant: body.tenant, scopes: body.scopes, name: body.name, expiresAt: body.expires_at },
        managerOf(c.get('auth')),
        c.get('requestId'),
      )
      return c.json(
        {
          id: rec.id,
          key,
          tenant: rec.tenant,
          scopes: rec.scopes,
          name: rec.name,
          prefix: rec.prefix,
          created_at: rec.createdAt,
          created_by: rec.createdBy ?? '',
          expires_at: rec.expiresAt,
        },
        201,
      )
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys',
      operationId: 'listApiKeys',
      tags: ['Keys'],
      summary: 'List API keys (never the secrets)',
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      responses: {
        200: {
          description: 'Keys',
          content: {
            'application/json': { schema: z.object({ data: z.array(keySchema) }).openapi('ApiKeyList') },
          },
        },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function listApiKeys(c) {
      const auth = c.get('auth')
      const keys = await listKeys(database(c.env.DB), tenantScopeOf(auth))
      return c.json({ data: keys.map(toView) }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/keys/{id}',
      operationId: 'revokeKeyRoute',
      tags: ['Keys'],
      summary: 'Revoke an API key (effective within seconds everywhere)',
      description:
        'Each revoked key is recorded as audit_log.key.revoked in its tenant. With cascade=true the keys it minted are revoked too, recursively (their events carry metadata cascade_from). Idempotent: revoking a revoked key answers 200 with its revoked_at and revokes nothing new; repeating a request that answered 503 completes the record.',
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: {
        params: z.object({ id: z.string().min(1).max(64) }),
        query: z
          .object({
            cascade: z
              .enum(['true', 'false'])
              .transform((v) => v === 'true')
              .optional()
              .openapi({ description: 'Also revoke every key this key minted, recursively' }),
          })
          .strict(),
      },
      responses: {
        200: { description: 'Revoked', content: { 'application/json': { schema: revoked } } },
        400: problemResponse('Invalid query'),
        401: problemResponse('Missing, unknown, revoked or expired credentials'),
        403: problemResponse('Not allowed'),
        404: problemResponse('No such key'),
        503: problemResponse('Revoked, but not yet on record: repeat the request'),
      },
    }),
    async function revokeKeyRoute(c) {
      const { id } = c.req.valid('param')
      const { cascade } = c.req.valid('query')
      const auth = c.get('auth')
      try {
        const { record, revoked: ids } = await revokeApiKey(
          database(c.env.DB),
          c.env.EVENTS_QUEUE,
          { id, tenant: tenantScopeOf(auth), cascade: cascade ?? false },
          managerOf(auth),
          c.get('requestId'),
        )
        return c.json({ ...toView(record), revoked: ids }, 200)
      } finally {
        forgetCachedKey()
      }
    },
  )

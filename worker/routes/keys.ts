import { createRoute, z } from '@hono/zod-openapi'
import { database } from '../../core/db/client'
import { getKey, listKeys, revokeKey, SCOPES } from '../../core/db/keys'
import { forbidden, notFound } from '../../core/errors'
import { mintApiKey, tenantSchema } from '../../core/keys/api-keys'
import { forgetCachedKey, requireScope } from '../middleware/auth'
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
  })
  .openapi('ApiKey')

const createBody = z
  .object({
    tenant: tenantSchema,
    scopes: z.array(z.enum(SCOPES)).min(1).max(3),
    name: z.string().min(1).max(128).optional(),
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
  })
  .openapi('CreatedApiKey')

const adminOnly = requireScope('admin', { allowAdminToken: true })

const toView = (k: Awaited<ReturnType<typeof listKeys>>[number]) => ({
  id: k.id,
  tenant: k.tenant,
  name: k.name,
  scopes: k.scopes,
  prefix: k.prefix,
  created_at: k.createdAt,
  revoked_at: k.revokedAt,
})

export const keysRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/keys',
      tags: ['Keys'],
      summary: 'Mint an API key for a tenant (the key is shown only in this response)',
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { body: { required: true, content: { 'application/json': { schema: createBody } } } },
      responses: {
        201: { description: 'Created', content: { 'application/json': { schema: created } } },
        400: problemResponse('Invalid body'),
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function createKey(c) {
      const body = c.req.valid('json')
      const auth = c.get('auth')
      if (auth.kind === 'key' && auth.tenant !== body.tenant) {
        throw forbidden('A tenant admin key can only mint keys for its own tenant.')
      }
      const { record: rec, key } = await mintApiKey(database(c.env.DB), body)
      return c.json({ id: rec.id, key, tenant: rec.tenant, scopes: rec.scopes, name: rec.name }, 201)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys',
      tags: ['Keys'],
      summary: 'List API keys (never the secrets)',
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      responses: {
        200: {
          description: 'Keys',
          content: { 'application/json': { schema: z.object({ data: z.array(keySchema) }) } },
        },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
      },
    }),
    async function listApiKeys(c) {
      const auth = c.get('auth')
      const keys = await listKeys(database(c.env.DB), auth.kind === 'key' ? auth.tenant : undefined)
      return c.json({ data: keys.map(toView) }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/keys/{id}',
      tags: ['Keys'],
      summary: 'Revoke an API key (effective within seconds everywhere)',
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: {
        200: { description: 'Revoked', content: { 'application/json': { schema: keySchema } } },
        401: problemResponse('Missing or unknown credentials'),
        403: problemResponse('Not allowed'),
        404: problemResponse('No such key'),
      },
    }),
    async function revokeApiKey(c) {
      const { id } = c.req.valid('param')
      const auth = c.get('auth')
      const db = database(c.env.DB)
      const existing = await getKey(db, id)
      if (!existing || (auth.kind === 'key' && existing.tenant !== auth.tenant))
        throw notFound(`No API key "${id}".`)
      await revokeKey(db, id)
      forgetCachedKey()
      const after = await getKey(db, id)
      return c.json(toView(after ?? existing), 200)
    },
  )

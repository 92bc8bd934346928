// POST /v1/viewer-tokens: a short-lived, read-only token for embedding a tenant's events
// (/console/embed?token=…), scoped to the tenant and optionally one target or one actor. The
// token format and its checks are core/auth/viewer-tokens.ts; what it may read, core/auth/viewer-scope.ts.
import { createRoute, z } from '@hono/zod-openapi'
import {
  mintViewerToken,
  VIEWER_TTL_DEFAULT_S,
  VIEWER_TTL_MAX_S,
  VIEWER_TTL_MIN_S,
  viewerTargetSchema,
} from '../../core/auth/viewer-tokens'
import { database } from '../../core/db/client'
import { settings } from '../../core/env'
import { DomainError, forbidden } from '../../core/errors'
import { requireScope } from '../middleware/auth'
import { jsonBody } from '../middleware/json-body'
import { bearerSecurity, problemResponse, router } from '../openapi'

const MAX_BODY_BYTES = 4096

const targetSchema = viewerTargetSchema
  .clone()
  .openapi('ViewerTarget', { example: { type: 'order', id: '500' } })

const createBody = z
  .object({
    ttl_seconds: z
      .number()
      .int()
      .min(VIEWER_TTL_MIN_S)
      .max(VIEWER_TTL_MAX_S)
      .default(VIEWER_TTL_DEFAULT_S)
      .openapi({
        description: `Lifetime in seconds, ${VIEWER_TTL_MIN_S} to ${VIEWER_TTL_MAX_S} (default ${VIEWER_TTL_DEFAULT_S}); never past the minting key's expiry`,
      }),
    target: targetSchema
      .optional()
      .openapi({ description: 'Only this target and its children (events whose parent it is)' }),
    actor_id: z.string().min(1).max(256).optional().openapi({ description: "Only this actor's events" }),
  })
  .strict()
  .refine((b) => !(b.target && b.actor_id !== undefined), {
    message: 'give at most one of target and actor_id',
    path: ['actor_id'],
  })
  .openapi('CreateViewerToken')

const created = z
  .object({
    token: z.string().openapi({
      description: 'avt_<payload>.<mac>: send as Authorization: Bearer',
      example: 'avt_eyJ2IjoxLC4uLn0.c2lnbmF0dXJl',
    }),
    expires_at: z.string().openapi({ description: 'RFC 3339 UTC' }),
    scope: z
      .object({ tenant: z.string(), target: targetSchema.optional(), actor_id: z.string().optional() })
      .strict()
      .openapi('ViewerTokenScope'),
  })
  .strict()
  .openapi('CreatedViewerToken')

export const viewerTokenRoutes = router().openapi(
  createRoute({
    method: 'post',
    path: '/v1/viewer-tokens',
    operationId: 'createViewerToken',
    tags: ['Console'],
    summary: 'Mint a short-lived, read-only viewer token for an embedded events view',
    description:
      'Needs a tenant API key holding admin (or a console session made from one); not the admin token. The token reads GET /v1/events (forced into its scope; a filter naming another target or actor is 403), GET /v1/events/{id} and its proof (404 outside the scope), the checkpoints and the signing keys, nothing else. It stops working at expires_at, when its minting key is revoked or expires, or when ADMIN_TOKEN (from which its MAC key is derived) changes. Minting is recorded as audit_log.viewer_token.created, and reads with the token as reads of the minting key with the scope noted.',
    security: bearerSecurity,
    middleware: [requireScope('admin'), jsonBody(MAX_BODY_BYTES)] as const,
    request: { body: { required: true, content: { 'application/json': { schema: createBody } } } },
    responses: {
      201: { description: 'Minted', content: { 'application/json': { schema: created } } },
      400: problemResponse('Invalid body'),
      401: problemResponse('Missing, unknown, revoked or expired credentials'),
      403: problemResponse(
        'Not a tenant admin key (the admin token, a viewer token, or a key without admin)',
      ),
      413: problemResponse(`Body over ${MAX_BODY_BYTES} bytes`),
      415: problemResponse('Content-Type is not application/json'),
      503: problemResponse('ADMIN_TOKEN is not configured, or the minting cannot be recorded now'),
    },
  }),
  async function createViewerToken(c) {
    const auth = c.get('auth')
    if (auth.kind !== 'key')
      throw forbidden(
        'Viewer tokens are minted by a tenant API key holding admin (or a console session made from one).',
      )
    const secret = settings(c.env).adminToken
    if (!secret)
      throw new DomainError('unavailable', 'Viewer tokens are unavailable: ADMIN_TOKEN is not configured.')
    const body = c.req.valid('json')
    const scope = {
      ...(body.target ? { target: body.target } : {}),
      ...(body.actor_id !== undefined ? { actor_id: body.actor_id } : {}),
    }
    const { token, expiresAt } = await mintViewerToken(
      database(c.env.DB),
      c.env.EVENTS_QUEUE,
      secret,
      { keyId: auth.keyId, tenant: auth.tenant, scope, ttlSeconds: body.ttl_seconds },
      c.get('requestId'),
    )
    return c.json({ token, expires_at: expiresAt, scope: { tenant: auth.tenant, ...scope } }, 201)
  },
)

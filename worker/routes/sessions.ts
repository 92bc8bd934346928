// Console sign-in: POST /v1/sessions exchanges an API key or the admin token (or, behind Cloudflare
// Access, the Access identity) for a session cookie; GET /v1/sessions/current says who a request
// is signed in as; DELETE /v1/sessions/current signs out. The session logic is core/auth/sessions.ts;
// how a cookie authenticates the other routes is worker/middleware/auth.ts.
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { SESSION_COOKIE, type SessionSource, secondsUntil, startSession } from '../../core/auth/sessions'
import { database } from '../../core/db/client'
import { SCOPES } from '../../core/db/keys'
import { deleteSession } from '../../core/db/sessions'
import { settings } from '../../core/env'
import { forbidden, unauthorized, validationError } from '../../core/errors'
import { secretHash } from '../../core/keys/api-keys'
import type { AppEnv, Auth } from '../context'
import {
  authenticateAccess,
  authenticateCredential,
  clearedSessionCookie,
  forgetCachedSession,
  requireCredential,
  sessionCookie,
} from '../middleware/auth'
import { jsonBody } from '../middleware/json-body'
import { problemResponse, router } from '../openapi'

const viewerScopeSchema = z
  .object({
    tenant: z.string(),
    target: z.object({ type: z.string(), id: z.string() }).strict().optional(),
    actor_id: z.string().optional(),
  })
  .strict()
  .openapi('ViewerScope', {
    description:
      'What a viewer token may see: its tenant, optionally one target (with its children) or one actor',
  })

const sessionSchema = z
  .object({
    principal: z.enum(['key', 'admin-token', 'access', 'viewer']).openapi({
      description:
        'What signed in: an API key, the admin token, a Cloudflare Access identity, or a viewer token',
    }),
    tenant: z.string().nullable().openapi({ description: 'null for the admin token (every tenant)' }),
    scopes: z.array(z.enum(SCOPES)),
    key_id: z
      .string()
      .nullable()
      .openapi({ description: 'The API key (for a viewer token: the key that minted it); null otherwise' }),
    expires_at: z.string().nullable().openapi({
      description:
        "RFC 3339 UTC: when this credential stops working (a session's end; a bearer key's expiry, null when it never expires)",
    }),
    email: z
      .string()
      .optional()
      .openapi({ description: 'The Cloudflare Access identity (principal "access" only)' }),
    scope: viewerScopeSchema
      .optional()
      .openapi({ description: 'The viewer token\'s scope (principal "viewer" only)' }),
  })
  .strict()
  .openapi('ConsoleSession')

const sessionAnswer = z.object({ session: sessionSchema }).strict().openapi('ConsoleSessionAnswer')

const createBody = z
  .object({
    credential: z.string().min(1).max(512).optional().openapi({
      description:
        'An API key or the admin token; leave it out behind Cloudflare Access (the assertion signs in)',
      example: 'alk_...',
    }),
  })
  .strict()
  .openapi('CreateConsoleSession')

const MAX_BODY_BYTES = 4096
// No credential (it is in the body), or a Cloudflare Access assertion.
const signInSecurity: Record<string, string[]>[] = [{}, { accessAssertion: [] }]
const sessionSecurity: Record<string, string[]>[] = [
  { bearerAuth: [] },
  { sessionCookie: [] },
  { accessAssertion: [] },
]

function sessionView(auth: Auth): z.infer<typeof sessionSchema> {
  switch (auth.kind) {
    case 'admin-token':
      return {
        principal: 'admin-token',
        tenant: null,
        scopes: [],
        key_id: null,
        expires_at: auth.session?.expiresAt ?? null,
      }
    case 'key':
      return {
        principal: 'key',
        tenant: auth.tenant,
        scopes: auth.scopes,
        key_id: auth.keyId,
        expires_at: auth.expiresAt ?? null,
      }
    case 'access':
      return {
        principal: 'access',
        tenant: auth.tenant,
        scopes: auth.scopes,
        key_id: null,
        expires_at: auth.expiresAt,
        email: auth.email,
      }
    case 'viewer':
      return {
        principal: 'viewer',
        tenant: auth.tenant,
        scopes: auth.scopes,
        key_id: auth.keyId,
        expires_at: auth.expiresAt,
        scope: { tenant: auth.tenant, ...auth.scope },
      }
  }
}

function sourceOf(c: Context<AppEnv>, auth: Auth): SessionSource {
  switch (auth.kind) {
    case 'key':
      return { principal: 'key', keyId: auth.keyId, tenant: auth.tenant, expiresAt: auth.expiresAt ?? null }
    case 'admin-token':
      return { principal: 'admin-token', adminToken: settings(c.env).adminToken! }
    case 'access':
      return { principal: 'access', email: auth.email, tenant: auth.tenant, expiresAt: auth.expiresAt }
    case 'viewer':
      throw validationError(
        'A viewer token cannot make a session; send it as "Authorization: Bearer avt_…".',
        [{ path: 'credential', message: 'must be an API key or the admin token' }],
      )
  }
}

/** Deletes the session the request's cookie names, if any (the cookie is cleared by the caller). */
async function endCookieSession(c: Context<AppEnv>): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE)
  if (!token || token.length > 256) return
  const tokenHash = await secretHash(token)
  forgetCachedSession(tokenHash)
  await deleteSession(database(c.env.DB), tokenHash)
}

export const sessionRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/sessions',
      operationId: 'createSession',
      tags: ['Console'],
      summary: 'Sign in: exchange an API key or the admin token for a session cookie',
      description:
        'The credential is checked as a bearer token would be, under the same abuse limits (a rejected one counts as an authentication failure). The answer sets the HttpOnly, SameSite=Strict cookie audit_session (Secure over https), which then authenticates every /v1 route as that credential; it lasts 12 hours, or less when the key expires sooner, and ends when the key is revoked. With an empty body {} behind Cloudflare Access, a valid Cf-Access-Jwt-Assertion signs in. A request with an Origin header must come from this origin.',
      security: signInSecurity,
      middleware: [jsonBody(MAX_BODY_BYTES)] as const,
      request: { body: { required: true, content: { 'application/json': { schema: createBody } } } },
      responses: {
        201: {
          description: 'Signed in',
          headers: z.object({
            'Set-Cookie': z.string().openapi({
              description: `${SESSION_COOKIE}=<token>; HttpOnly; SameSite=Strict; Path=/; Max-Age=<seconds>[; Secure]`,
            }),
          }),
          content: { 'application/json': { schema: sessionAnswer } },
        },
        400: problemResponse('Invalid body (or a viewer token as the credential)'),
        401: problemResponse(
          'Unknown, revoked or expired credential, or an Access assertion that does not verify',
        ),
        403: problemResponse('From another origin, or an Access identity that is not mapped to a tenant'),
        413: problemResponse(`Body over ${MAX_BODY_BYTES} bytes`),
        415: problemResponse('Content-Type is not application/json'),
        503: problemResponse('Cloudflare Access is misconfigured or its keys cannot be fetched'),
      },
    }),
    async function createSession(c) {
      // Whatever session this browser held before ends here: a new sign-in never leaves the old
      // one valid behind it.
      const own = new URL(c.req.url).origin
      const origin = c.req.header('origin')
      // Against login CSRF: a browser signs in only from this origin's own pages.
      if (origin !== undefined && origin !== own)
        throw forbidden(`Sign-in must come from this origin (${own}); the request came from ${origin}.`)
      const { credential } = c.req.valid('json')
      const auth =
        credential !== undefined ? await authenticateCredential(c, credential) : await authenticateAccess(c)
      if (!auth)
        throw unauthorized(
          'Send {"credential": "<API key or admin token>"} (or sign in through Cloudflare Access, where it is configured).',
        )
      await endCookieSession(c)
      const now = new Date()
      const { token, record } = await startSession(database(c.env.DB), sourceOf(c, auth), now)
      c.header('Set-Cookie', sessionCookie(c, token, secondsUntil(record.expiresAt, now)))
      return c.json({ session: { ...sessionView(auth), expires_at: record.expiresAt } }, 201)
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/sessions/current',
      operationId: 'currentSession',
      tags: ['Console'],
      summary: 'Who this request is signed in as (session cookie, Access assertion or bearer token)',
      description:
        'For a viewer token: principal "viewer", scopes ["events:read"] and the token\'s scope, so an embedding page can show it.',
      security: sessionSecurity,
      middleware: [requireCredential({ allowViewer: true })] as const,
      responses: {
        200: { description: 'The principal', content: { 'application/json': { schema: sessionAnswer } } },
        401: problemResponse('No credential, or one that is unknown, revoked or expired'),
      },
    }),
    async function currentSession(c) {
      return c.json({ session: sessionView(c.get('auth')) }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/sessions/current',
      operationId: 'endSession',
      tags: ['Console'],
      summary: 'Sign out: the session is deleted and its cookie cleared',
      description:
        "Needs this origin's Origin header when signed in by the cookie. Without a session cookie (a bearer token or Cloudflare Access alone) there is nothing to end: 204 all the same. Signing out of Access itself is Access's own /cdn-cgi/access/logout.",
      security: sessionSecurity,
      middleware: [requireCredential()] as const,
      responses: {
        204: {
          description: 'Signed out',
          headers: z.object({
            'Set-Cookie': z
              .string()
              .openapi({ description: `${SESSION_COOKIE}=; Max-Age=0 (deletes the cookie)` }),
          }),
        },
        401: problemResponse('No credential, or one that is unknown, revoked or expired'),
        403: problemResponse('Signed in by the cookie, from another origin; or a viewer token (read-only)'),
      },
    }),
    async function endSession(c) {
      const auth = c.get('auth')
      const session = auth.kind === 'viewer' ? undefined : auth.session
      if (session !== undefined) {
        forgetCachedSession(session.tokenHash)
        await deleteSession(database(c.env.DB), session.tokenHash)
      }
      // The cookie's session ends too when the request was authenticated by a bearer token.
      await endCookieSession(c)
      c.header('Set-Cookie', clearedSessionCookie(c))
      return c.body(null, 204)
    },
  )

sessionRoutes.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
  type: 'apiKey',
  in: 'cookie',
  name: SESSION_COOKIE,
  description:
    "The console session (POST /v1/sessions); unsafe methods also need this origin's Origin header",
})
sessionRoutes.openAPIRegistry.registerComponent('securitySchemes', 'accessAssertion', {
  type: 'apiKey',
  in: 'header',
  name: 'Cf-Access-Jwt-Assertion',
  description:
    'A Cloudflare Access assertion, where Access sign-in is configured (ACCESS_TEAM_DOMAIN, ACCESS_AUD)',
})

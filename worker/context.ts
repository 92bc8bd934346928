import type { ViewerScope } from '../core/auth/viewer-tokens'
import type { Scope } from '../core/db/keys'
import type { Env } from '../core/env'

/**
 * How the request proved who it is: an `Authorization: Bearer` token, the console's session
 * cookie, or a Cloudflare Access assertion (the last two are ambient: a browser sends them on its
 * own, so unsafe methods need a same-origin `Origin` too).
 */
export type Via = 'bearer' | 'cookie' | 'access'

/** The session a cookie-authenticated request runs under. */
export type SessionRef = { tokenHash: string; expiresAt: string }

export type Auth =
  | { kind: 'admin-token'; via?: Via; session?: SessionRef }
  | {
      kind: 'key'
      keyId: string
      tenant: string
      scopes: Scope[]
      via?: Via
      /** The key's expiry (null: never), or the session's when `session` is set. */
      expiresAt?: string | null
      session?: SessionRef
    }
  | {
      /** A viewer token: read-only, within `scope`, attributed to the key that minted it. */
      kind: 'viewer'
      keyId: string
      tenant: string
      scopes: Scope[]
      scope: ViewerScope
      tokenId: string
      expiresAt: string
      via: 'bearer'
    }
  | {
      /** A Cloudflare Access identity, mapped to a tenant and role by ACCESS_PRINCIPALS. */
      kind: 'access'
      email: string
      tenant: string
      scopes: Scope[]
      expiresAt: string
      via: 'access' | 'cookie'
      session?: SessionRef
    }

export type AppEnv = {
  Bindings: Env
  Variables: { requestId: string; auth: Auth }
}

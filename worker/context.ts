import type { Scope } from '../core/db/keys'
import type { Env } from '../core/env'

export type Auth = { kind: 'admin-token' } | { kind: 'key'; keyId: string; tenant: string; scopes: Scope[] }

export type AppEnv = {
  Bindings: Env
  Variables: { requestId: string; auth: Auth }
}

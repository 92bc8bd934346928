// The privacy policy, keys and store of one tenant in this deployment, for ingest and reads.
import { tenantDb, tenantWriteDb } from '../db/shards'
import type { Env } from '../env'
import { loadPiiKeys } from './pii-keys'
import { policyOf } from './policy'
import type { PrivacyContext } from './protect'
import type { Reader } from './reveal'

export function privacyContext(env: Env, tenant: string): PrivacyContext {
  return {
    db: () => tenantDb(env, tenant),
    // New subject keys only: a tenant being moved refuses them (503) until the move switches.
    writeDb: () => tenantWriteDb(env, tenant),
    ring: loadPiiKeys(env.PII_KEYS),
    policy: policyOf(env, tenant),
  }
}

export function readerOf(env: Env, tenant: string, piiRead: boolean): Reader {
  return { db: () => tenantDb(env, tenant), ring: loadPiiKeys(env.PII_KEYS), tenant, piiRead }
}

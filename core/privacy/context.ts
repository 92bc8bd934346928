// The privacy policy, keys and store of one tenant in this deployment, for ingest and reads.
import { database } from '../db/client'
import type { Env } from '../env'
import { loadPiiKeys } from './pii-keys'
import { policyOf } from './policy'
import type { PrivacyContext } from './protect'
import type { Reader } from './reveal'

export function privacyContext(env: Env, tenant: string): PrivacyContext {
  return { db: database(env.DB), ring: loadPiiKeys(env.PII_KEYS), policy: policyOf(env, tenant) }
}

export function readerOf(env: Env, tenant: string, piiRead: boolean): Reader {
  return { db: database(env.DB), ring: loadPiiKeys(env.PII_KEYS), tenant, piiRead }
}

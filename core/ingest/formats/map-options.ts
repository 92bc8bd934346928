import type { MetadataBuilder } from './metadata'

/** What every mapper receives besides the body. */
export type MapOptions = {
  /** Source path of the body within the request (`''`, `[3]`, `[0].data`), for error paths. */
  prefix: string
  /** The API key's tenant; never taken from the body. */
  tenant: string
  /** Metadata an enclosing envelope adds to every event (CloudEvents attributes). */
  envelopeMeta?: (m: MetadataBuilder) => void
}

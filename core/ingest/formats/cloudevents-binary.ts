// CloudEvents binary mode: attributes travel in ce-* headers (percent-encoded, per the HTTP
// protocol binding), Content-Type is datacontenttype, and the body is the data.
import { DomainError } from '../../errors'
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../exact-json'
import { cloudEventSchema, mapCloudEvent } from './cloudevents'
import type { MapOptions } from './map-options'
import type { Mapped } from './provenance'

export type HeaderSource = {
  get(name: string): string | null
  forEach(cb: (value: string, key: string) => void): void
}

const headerOf = (attr: string) => (attr === 'datacontenttype' ? 'content-type' : `ce-${attr}`)

function percentDecode(v: string): string {
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}

export function mapBinary(body: unknown, headers: HeaderSource, opts: MapOptions): Mapped[] {
  const attrs: Record<string, unknown> = { data: body }
  headers.forEach((value, key) => {
    const k = key.toLowerCase()
    if (!k.startsWith('ce-') || k.length <= 3) return
    // In binary mode the body is the data; a header cannot stand in for it.
    if (k === 'ce-data' || k === 'ce-data_base64')
      throw new DomainError('validation_failed', `The header ${k} is not allowed in binary mode.`, [
        { path: k, message: 'the body is the data in binary mode' },
      ])
    // Checked here: assigning `attrs.__proto__` would drop the header without a trace.
    if (isReservedKey(k.slice(3)))
      throw new DomainError('validation_failed', `The header ${k} names a reserved attribute.`, [
        { path: k, message: RESERVED_KEY_MESSAGE },
      ])
    attrs[k.slice(3)] = percentDecode(value)
  })
  const contentType = headers.get('content-type')
  if (contentType) attrs.datacontenttype = contentType
  const r = cloudEventSchema.safeParse(attrs)
  if (!r.success) {
    throw new DomainError(
      'validation_failed',
      'The request is not a valid CloudEvent in binary mode; see errors.',
      r.error.issues.map((i) => {
        const attr = String(i.path[0] ?? '')
        return { path: attr === 'data' ? '(body)' : attr ? headerOf(attr) : '(headers)', message: i.message }
      }),
    )
  }
  return mapCloudEvent(r.data, opts, { attr: headerOf, data: '' })
}

// Input formats of POST /v1/events. Each turns a parsed body into raw event v1 objects, which
// are then validated like native events. The native format is one event or {"events": [...]}.
import { DomainError } from '../../core/errors'
import { mapCloudEvents } from '../../core/formats/cloudevents'
import { mapEventBridge } from '../../core/formats/eventbridge'
import { mapRecord } from '../../core/formats/record'
import { mapResource } from '../../core/formats/resource'

const CLOUDEVENTS_TYPES = ['application/cloudevents+json', 'application/cloudevents-batch+json']

export type DecodeContext = { headers: Headers; tenant: string }
export type Decoded = { events: unknown[]; batch: boolean }
export type InputFormat = {
  /** Media types this format accepts (compared without parameters). */
  mediaTypes: string[]
  decode(body: unknown, ctx: DecodeContext): Decoded
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export const nativeFormat: InputFormat = {
  mediaTypes: ['application/json'],
  decode(body) {
    if (Array.isArray(body)) {
      throw new DomainError('validation_failed', 'Send a batch as {"events": [...]}, not a bare array.', [
        { path: '(root)', message: 'expected an event object or {"events": [...]}' },
      ])
    }
    if (!isObject(body)) {
      throw new DomainError('validation_failed', 'The body must be a JSON object.', [
        { path: '(root)', message: 'expected an event object or {"events": [...]}' },
      ])
    }
    if ('events' in body) {
      const extra = Object.keys(body).filter((k) => k !== 'events')
      if (extra.length > 0) {
        throw new DomainError(
          'validation_failed',
          'A batch body holds only "events".',
          extra.map((k) => ({ path: k, message: 'unknown field' })),
        )
      }
      if (!Array.isArray(body.events)) {
        throw new DomainError('validation_failed', '"events" must be an array.', [
          { path: 'events', message: 'expected an array' },
        ])
      }
      return { events: body.events, batch: true }
    }
    return { events: [body], batch: false }
  },
}

/** One object, or an array of them (a batch), each mapped by `map`. */
function oneOrMany(map: (item: unknown, prefix: string) => unknown[]): InputFormat['decode'] {
  return (body) => {
    if (Array.isArray(body)) {
      if (body.length === 0)
        throw new DomainError('validation_failed', 'The batch is empty.', [
          { path: '(root)', message: 'must hold at least 1 item' },
        ])
      return { events: body.flatMap((item, i) => map(item, `[${i}]`)), batch: true }
    }
    const events = map(body, '')
    return { events, batch: events.length > 1 }
  }
}

const JSON_TYPES = ['application/json']

/** Registered formats by their `?format=` name. */
export const FORMATS: Record<string, InputFormat> = {
  native: nativeFormat,
  eventbridge: { mediaTypes: JSON_TYPES, decode: oneOrMany((b, p) => mapEventBridge(b, p)) },
  record: { mediaTypes: JSON_TYPES, decode: oneOrMany((b, p) => mapRecord(b, p)) },
  resource: {
    mediaTypes: JSON_TYPES,
    decode: (body, ctx) => oneOrMany((b, p) => mapResource(b, ctx.tenant, p))(body, ctx),
  },
  cloudevents: {
    mediaTypes: [...CLOUDEVENTS_TYPES, 'application/json'],
    decode: (body, ctx) => mapCloudEvents(body, ctx.headers, ctx.tenant),
  },
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

export function selectFormat(
  name: string | undefined,
  contentType: string | undefined,
  headers?: Headers,
): InputFormat {
  const mt = mediaType(contentType)
  if (name !== undefined) {
    const f = FORMATS[name]
    if (!f) {
      throw new DomainError('validation_failed', `Unknown format "${name}".`, [
        { path: 'format', message: `must be one of: ${Object.keys(FORMATS).join(', ')}` },
      ])
    }
    return f
  }
  // CloudEvents are recognised by their content types, and binary mode by its ce-specversion header.
  if (CLOUDEVENTS_TYPES.includes(mt) || headers?.has('ce-specversion')) return FORMATS.cloudevents!
  return nativeFormat
}

export function checkMediaType(format: InputFormat, contentType: string | undefined) {
  const mt = mediaType(contentType)
  if (!format.mediaTypes.includes(mt)) {
    throw new DomainError(
      'unsupported_media_type',
      `Content-Type "${mt || '(none)'}" is not accepted here; send ${format.mediaTypes.join(' or ')}.`,
    )
  }
}

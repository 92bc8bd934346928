// The input formats of POST /v1/events besides native event v1, by their `?format=` name.
// Each decodes a parsed JSON body into raw event v1 objects that the ingest route validates
// like native events; anything it cannot map is a DomainError naming the source field.
import { DomainError } from '../../errors'
import { LIMITS } from '../../limits'
import { mapStructured } from './cloudevents'
import { type HeaderSource, mapBinary } from './cloudevents-binary'
import { at, isObject } from './common'
import { mapEventBridge } from './eventbridge'
import type { MapOptions } from './map-options'
import { checkMapped, type Mapped } from './provenance'
import { mapRecord } from './record'
import { mapResource } from './resource'

export type { HeaderSource }
export type DecodeContext = { headers: HeaderSource; tenant: string }
export type Decoded = { events: unknown[]; batch: boolean }
export type InputFormat = {
  /** Media types the body may be sent as (compared without parameters). */
  mediaTypes: readonly string[]
  decode(body: unknown, ctx: DecodeContext): Decoded
}

export const CLOUDEVENTS_STRUCTURED = 'application/cloudevents+json'
export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json'

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

/** A request is a CloudEvent by its content type, or in binary mode by its ce-specversion header. */
export function isCloudEventsRequest(headers: HeaderSource): boolean {
  const mt = mediaTypeOf(headers.get('content-type'))
  return mt === CLOUDEVENTS_STRUCTURED || mt === CLOUDEVENTS_BATCH || headers.get('ce-specversion') !== null
}

type Mapper = (body: unknown, opts: MapOptions) => Mapped[]

function finish(mapped: Mapped[], format: string, batch: boolean): Decoded {
  if (mapped.length > LIMITS.maxEventsPerRequest) {
    throw new DomainError(
      'validation_failed',
      `A request may carry at most ${LIMITS.maxEventsPerRequest} events.`,
      [
        {
          path: '(root)',
          message: `maps to ${mapped.length} events; the limit is ${LIMITS.maxEventsPerRequest}`,
        },
      ],
    )
  }
  return { events: checkMapped(mapped, format), batch: batch || mapped.length > 1 }
}

/** One object, or a JSON array of them (a batch), each mapped on its own. */
function objectOrArray(map: Mapper, format: string): InputFormat['decode'] {
  return (body, ctx) => {
    if (Array.isArray(body)) {
      if (body.length === 0)
        throw new DomainError('validation_failed', 'The batch is empty.', [
          { path: '(root)', message: 'must hold at least 1 item' },
        ])
      const mapped = body.flatMap((item, i) => map(item, { prefix: `[${i}]`, tenant: ctx.tenant }))
      return finish(mapped, format, true)
    }
    if (!isObject(body))
      throw new DomainError('validation_failed', `The body must be a ${format} object or an array of them.`, [
        { path: '(root)', message: 'expected an object or an array' },
      ])
    return finish(map(body, { prefix: '', tenant: ctx.tenant }), format, false)
  }
}

function decodeCloudEvents(body: unknown, ctx: DecodeContext): Decoded {
  const mt = mediaTypeOf(ctx.headers.get('content-type'))
  const opts = { prefix: '', tenant: ctx.tenant }
  if (mt === CLOUDEVENTS_BATCH) {
    if (!Array.isArray(body))
      throw new DomainError('validation_failed', 'A CloudEvents batch is a JSON array.', [
        { path: '(root)', message: 'expected an array' },
      ])
    const mapped = body.flatMap((item, i) => mapStructured(item, { ...opts, prefix: at('', `[${i}]`) }))
    return finish(mapped, 'CloudEvents', true)
  }
  if (mt === CLOUDEVENTS_STRUCTURED) return finish(mapStructured(body, opts), 'CloudEvents', false)
  return finish(mapBinary(body, ctx.headers, opts), 'CloudEvents', false)
}

const JSON_ONLY = ['application/json'] as const

export const FORMATS = {
  eventbridge: { mediaTypes: JSON_ONLY, decode: objectOrArray(mapEventBridge, 'EventBridge') },
  cloudevents: {
    mediaTypes: [CLOUDEVENTS_STRUCTURED, CLOUDEVENTS_BATCH, 'application/json'],
    decode: decodeCloudEvents,
  },
  record: { mediaTypes: JSON_ONLY, decode: objectOrArray(mapRecord, 'record') },
  resource: { mediaTypes: JSON_ONLY, decode: objectOrArray(mapResource, 'resource') },
} as const satisfies Record<string, InputFormat>

export type FormatName = keyof typeof FORMATS
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[]

export const isFormatName = (name: string): name is FormatName => Object.hasOwn(FORMATS, name)

// Chooses how POST /v1/events reads its body: native event v1 (one event or {"events": [...]})
// unless ?format= names another format; CloudEvents is also chosen by its content types or a
// ce-specversion header. The formats themselves live in core/ingest/formats.
import { DomainError } from '../../core/errors'
import {
  type DecodeContext,
  type Decoded,
  FORMATS,
  type InputFormat,
  isCloudEventsRequest,
  isFormatName,
  mediaTypeOf,
} from '../../core/ingest/formats'
import { isObject } from '../../core/objects'

export type { DecodeContext, Decoded, InputFormat }

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

/** Every name ?format= accepts; `native` is the default. */
export const FORMAT_CHOICES = ['native', ...Object.keys(FORMATS)]

export function selectFormat(name: string | undefined, headers: Headers): InputFormat {
  if (name !== undefined) {
    if (name === 'native') return nativeFormat
    if (!isFormatName(name)) {
      throw new DomainError(
        'validation_failed',
        `Unknown format "${name}"; use one of: ${FORMAT_CHOICES.join(', ')}.`,
        [{ path: 'format', message: `must be one of: ${FORMAT_CHOICES.join(', ')}` }],
      )
    }
    return FORMATS[name]
  }
  return isCloudEventsRequest(headers) ? FORMATS.cloudevents : nativeFormat
}

export function checkMediaType(format: InputFormat, contentType: string | undefined) {
  const mt = mediaTypeOf(contentType)
  if (!format.mediaTypes.includes(mt)) {
    throw new DomainError(
      'unsupported_media_type',
      `Content-Type "${mt || '(none)'}" is not accepted here; send ${format.mediaTypes.join(' or ')}.`,
    )
  }
}

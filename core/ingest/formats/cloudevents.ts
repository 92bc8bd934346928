// CloudEvents 1.0: structured (application/cloudevents+json), batch
// (application/cloudevents-batch+json) and binary mode (ce-* headers, the body is `data`).
// Which shape `data` has is decided by `dataschema` when it is urn:audit-log:format:<name>,
// else by the fields `data` holds (see dataFormatOf); attributes with no v1 field go to
// metadata as ce_<name>.
import { z } from 'zod'
import { DomainError } from '../../errors'
import { actionSchema } from '../event-schema'
import { assertExactJson } from '../exact-json'
import { at, deriveId, isObject, parseSource } from './common'
import { mapEventBridge } from './eventbridge'
import type { MapOptions } from './map-options'
import { MetadataBuilder } from './metadata'
import type { Mapped } from './provenance'
import { mapRecord } from './record'
import { mapResource } from './resource'

export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: z.string().optional(),
    subject: z.string().optional(),
    datacontenttype: z
      .string()
      .regex(/^(application|text)\/([a-z0-9.-]+\+)?json(\s*;.*)?$/i, 'must be a JSON media type')
      .optional(),
    dataschema: z.string().optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()]))
  .superRefine((ce, ctx) => {
    for (const k of Object.keys(ce)) {
      if (!/^[a-z0-9]{1,20}$/.test(k) && k !== 'data_base64')
        ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid CloudEvents attribute name' })
    }
    if (ce.data !== undefined && ce.data_base64 !== undefined)
      ctx.addIssue({ code: 'custom', path: ['data_base64'], message: 'cannot be sent together with data' })
  })
export type CloudEvent = z.output<typeof cloudEventSchema>

export const DATA_FORMATS = ['v1', 'eventbridge', 'record', 'resource'] as const
type DataFormat = (typeof DATA_FORMATS)[number]
const SCHEMA_URN = 'urn:audit-log:format:'

/** Where each attribute and the data came from, for error paths. */
type Where = { attr: (name: string) => string; data: string }

function dataFormatOf(ce: CloudEvent, data: Record<string, unknown>, where: Where): DataFormat {
  if (ce.dataschema?.startsWith(SCHEMA_URN)) {
    const name = ce.dataschema.slice(SCHEMA_URN.length)
    if ((DATA_FORMATS as readonly string[]).includes(name)) return name as DataFormat
    throw new DomainError('validation_failed', `Unknown data format "${name}".`, [
      { path: where.attr('dataschema'), message: `must be ${SCHEMA_URN}<${DATA_FORMATS.join('|')}>` },
    ])
  }
  if ('detail-type' in data && 'detail' in data) return 'eventbridge'
  if ('eventId' in data && 'resource' in data) return 'resource'
  if ('kind' in data && 'entity' in data) return 'record'
  return 'v1'
}

/** The data; base64 data is held to the same rules as a JSON body (core/ingest/exact-json.ts). */
function dataOf(ce: CloudEvent, where: Where): unknown {
  if (ce.data_base64 === undefined) return ce.data
  let data: unknown
  try {
    const bytes = Uint8Array.from(atob(ce.data_base64), (c) => c.charCodeAt(0))
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes))
  } catch {
    throw new DomainError('validation_failed', 'data_base64 is not base64 of UTF-8 JSON.', [
      { path: where.attr('data_base64'), message: 'must be base64-encoded UTF-8 JSON' },
    ])
  }
  assertExactJson(data, where.data)
  return data
}

/** An event v1 in `data`: the CloudEvent supplies id, occurred_at, source and action it lacks. */
function mapV1(ce: CloudEvent, data: Record<string, unknown>, where: Where, meta: MetadataBuilder): Mapped {
  const event: Record<string, unknown> = { ...data }
  const from: Mapped['from'] = { '': { under: where.data } }
  const fill = (field: string, value: unknown, attr: string) => {
    if (event[field] !== undefined || value === undefined) return false
    event[field] = value
    from[field] = where.attr(attr)
    return true
  }
  fill('id', deriveId(ce.id), 'id')
  const timeUsed = fill('occurred_at', ce.time, 'time')
  if (ce.source.length <= 128) fill('source', ce.source, 'source')
  if (actionSchema.safeParse(ce.type).success) fill('action', ce.type, 'type')
  meta.put('ce_time', timeUsed ? undefined : ce.time, where.attr('time'))
  if (isObject(data.metadata)) meta.putAll(data.metadata, at(where.data, 'metadata'))
  else if (data.metadata !== undefined) from.metadata = at(where.data, 'metadata')
  event.metadata = data.metadata === undefined || isObject(data.metadata) ? meta.build() : data.metadata
  return { event, from }
}

export function mapCloudEvent(ce: CloudEvent, opts: MapOptions, where: Where): Mapped[] {
  const data = dataOf(ce, where)
  if (!isObject(data)) {
    throw new DomainError('validation_failed', 'The CloudEvent carries no JSON object as data.', [
      { path: where.data || '(body)', message: 'must be a JSON object: an event v1 or a mappable shape' },
    ])
  }
  const { specversion: _s, id, source, type, time, subject, datacontenttype, dataschema, ...rest } = ce
  const { data: _d, data_base64: _b, ...extensions } = rest
  const envelopeMeta = (m: MetadataBuilder) => {
    m.put('ce_id', id, where.attr('id'))
      .put('ce_source', source, where.attr('source'))
      .put('ce_type', type, where.attr('type'))
      .put('ce_subject', subject, where.attr('subject'))
      .put('ce_datacontenttype', datacontenttype, where.attr('datacontenttype'))
      .put('ce_dataschema', dataschema, where.attr('dataschema'))
    for (const [k, v] of Object.entries(extensions)) m.put(`ce_${k}`, v, where.attr(k))
  }
  const format = dataFormatOf(ce, data, where)
  if (format === 'v1') {
    const meta = new MetadataBuilder()
    envelopeMeta(meta)
    return [mapV1(ce, data, where, meta)]
  }
  // The embedded shape carries its own time; the CloudEvent's is kept beside it.
  const inner: MapOptions = {
    ...opts,
    prefix: where.data,
    envelopeMeta: (m) => {
      envelopeMeta(m)
      m.put('ce_time', time, where.attr('time'))
    },
  }
  if (format === 'eventbridge') return mapEventBridge(data, inner)
  if (format === 'resource') return mapResource(data, inner)
  return mapRecord(data, inner)
}

/** Structured mode (one object) or batch mode (an array of them). */
export function mapStructured(body: unknown, opts: MapOptions): Mapped[] {
  const ce = parseSource(cloudEventSchema, body, 'CloudEvents', opts.prefix)
  const where: Where = {
    attr: (name) => at(opts.prefix, name),
    data: at(opts.prefix, ce.data_base64 === undefined ? 'data' : 'data_base64'),
  }
  return mapCloudEvent(ce, opts, where)
}

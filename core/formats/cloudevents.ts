// CloudEvents 1.0: structured (application/cloudevents+json), batch
// (application/cloudevents-batch+json) and binary mode (ce-* headers, the body is `data`).
// `data` is an event v1 (id, occurred_at and source default to the CloudEvent's id, time and
// source) or one of the other mappable shapes, recognised by its fields. CloudEvents
// attributes with no v1 field go to metadata as ce_<name>.
import { z } from 'zod'
import { DomainError } from '../errors'
import { deriveId, type Metadata, metaValue, parseSource } from './common'
import { mapEventBridge } from './eventbridge'
import { mapRecord } from './record'
import { mapResource } from './resource'

const ATTR = /^[a-z0-9]{1,20}$/

export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: z.string().optional(),
    subject: z.string().optional(),
    datacontenttype: z.string().optional(),
    dataschema: z.string().optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()]))
  .superRefine((ce, ctx) => {
    for (const k of Object.keys(ce)) {
      if (!ATTR.test(k) && k !== 'data_base64')
        ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid CloudEvents attribute name' })
    }
  })
type CloudEvent = z.output<typeof cloudEventSchema>

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function dataOf(ce: CloudEvent, path: string): unknown {
  if (ce.data_base64 !== undefined) {
    try {
      return JSON.parse(Buffer.from(ce.data_base64, 'base64').toString('utf8'))
    } catch {
      throw new DomainError('validation_failed', 'data_base64 is not base64 of JSON.', [
        { path: `${path}data_base64`, message: 'must be base64-encoded JSON' },
      ])
    }
  }
  return ce.data
}

function mapOne(ce: CloudEvent, tenant: string, path: string): unknown[] {
  const data = dataOf(ce, path)
  if (!isObject(data)) {
    throw new DomainError('validation_failed', 'The CloudEvent carries no JSON object as data.', [
      { path: `${path}data`, message: 'must be an event object' },
    ])
  }
  const {
    specversion: _s,
    id,
    source,
    type,
    time,
    subject,
    datacontenttype,
    dataschema,
    data: _d,
    data_base64: _b,
    ...extensions
  } = ce
  const ceMeta: Metadata = { ce_id: id, ce_source: source, ce_type: type }
  if (subject !== undefined) ceMeta.ce_subject = subject
  if (datacontenttype !== undefined) ceMeta.ce_datacontenttype = datacontenttype
  if (dataschema !== undefined) ceMeta.ce_dataschema = dataschema
  for (const [k, v] of Object.entries(extensions)) ceMeta[`ce_${k}`] = metaValue(v)

  let events: unknown[]
  if ('detail-type' in data) events = mapEventBridge(data, `${path}data`)
  else if ('eventId' in data && 'resource' in data) events = mapResource(data, tenant, `${path}data`)
  else if ('kind' in data && 'entity' in data) events = mapRecord(data, `${path}data`)
  else events = [{ id: deriveId(id), ...(time ? { occurred_at: time } : {}), source, ...data }]

  return events.map((e) => {
    const ev = e as Record<string, unknown>
    const own = isObject(ev.metadata) ? (ev.metadata as Metadata) : {}
    return { ...ev, metadata: { ...ceMeta, ...own } }
  })
}

export type HeaderSource = { get(name: string): string | null }

export function mapCloudEvents(
  body: unknown,
  headers: HeaderSource,
  tenant: string,
): { events: unknown[]; batch: boolean } {
  const mediaType = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (mediaType === 'application/cloudevents-batch+json') {
    if (!Array.isArray(body)) {
      throw new DomainError('validation_failed', 'A CloudEvents batch is a JSON array.', [
        { path: '(root)', message: 'expected an array' },
      ])
    }
    const events = body.flatMap((item, i) =>
      mapOne(parseSource(cloudEventSchema, item, 'CloudEvents', `[${i}]`), tenant, `[${i}].`),
    )
    return { events, batch: true }
  }
  if (mediaType === 'application/cloudevents+json') {
    const events = mapOne(parseSource(cloudEventSchema, body, 'CloudEvents'), tenant, '')
    return { events, batch: events.length > 1 }
  }
  // Binary mode: attributes in ce-* headers, the body is the data.
  const attrs: Record<string, unknown> = { data: body }
  for (const name of ['specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema']) {
    const v = headers.get(`ce-${name}`)
    if (v !== null) attrs[name] = v
  }
  const ext = (headers as unknown as { entries?: () => Iterable<[string, string]> }).entries?.()
  for (const [k, v] of ext ?? []) {
    const name = k.toLowerCase().slice(3)
    if (k.toLowerCase().startsWith('ce-') && !(name in attrs)) attrs[name] = v
  }
  if (mediaType) attrs.datacontenttype = mediaType
  let ce: CloudEvent
  try {
    ce = parseSource(cloudEventSchema, attrs, 'CloudEvents (binary mode)')
  } catch (err) {
    // Name the header the attribute comes from.
    if (err instanceof DomainError && err.errors) {
      throw new DomainError(
        err.code,
        err.message,
        err.errors.map((e) => ({ ...e, path: e.path === 'data' ? '(body)' : `ce-${e.path}` })),
      )
    }
    throw err
  }
  const events = mapOne(ce, tenant, '')
  return { events, batch: events.length > 1 }
}

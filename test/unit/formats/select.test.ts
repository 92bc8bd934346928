import { describe, expect, it } from 'vitest'
import { DomainError } from '../../../core/errors'
import { FORMATS } from '../../../core/ingest/formats'
import { checkMediaType, nativeFormat, selectFormat } from '../../../worker/ingest/formats'
import eventbridge from '../../vectors/formats/eventbridge.json'

const h = (o: Record<string, string>) => new Headers(o)

describe('choosing the input format', () => {
  it('uses ?format= when given, native otherwise', () => {
    expect(selectFormat('eventbridge', h({ 'content-type': 'application/json' }))).toBe(FORMATS.eventbridge)
    expect(selectFormat('record', h({}))).toBe(FORMATS.record)
    expect(selectFormat('native', h({}))).toBe(nativeFormat)
    expect(selectFormat(undefined, h({ 'content-type': 'application/json' }))).toBe(nativeFormat)
  })

  it('picks CloudEvents by its content types and by a ce-specversion header', () => {
    for (const ct of ['application/cloudevents+json', 'application/cloudevents-batch+json; charset=utf-8'])
      expect(selectFormat(undefined, h({ 'content-type': ct }))).toBe(FORMATS.cloudevents)
    expect(selectFormat(undefined, h({ 'content-type': 'application/json', 'ce-specversion': '1.0' }))).toBe(
      FORMATS.cloudevents,
    )
  })

  it('rejects an unknown format naming every allowed one', () => {
    let err: unknown
    try {
      selectFormat('avro', h({}))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DomainError)
    const e = err as DomainError
    expect(e.code).toBe('validation_failed')
    expect(e.errors?.[0]?.path).toBe('format')
    for (const name of ['native', 'eventbridge', 'cloudevents', 'record', 'resource'])
      expect(e.errors?.[0]?.message).toContain(name)
  })

  it('does not treat inherited object keys as format names', () => {
    expect(() => selectFormat('constructor', h({}))).toThrow(DomainError)
  })

  it('accepts only the media types of the chosen format', () => {
    expect(() => checkMediaType(FORMATS.eventbridge, 'text/plain')).toThrow(/not accepted/)
    expect(() => checkMediaType(FORMATS.cloudevents, 'application/cloudevents+json')).not.toThrow()
  })
})

describe('decoding', () => {
  const ctx = { headers: h({ 'content-type': 'application/json' }), tenant: 'acme' }
  const input = eventbridge.cases[0]!.input

  it('maps a redelivered EventBridge envelope to the same ids', () => {
    const ids = (b: unknown) => FORMATS.eventbridge.decode(b, ctx).events.map((e) => (e as { id: string }).id)
    expect(ids(structuredClone(input))).toEqual(ids(structuredClone(input)))
    const long = { ...(input as object), id: 'z'.repeat(200) }
    const [a, b] = ids(long)
    expect(a).toMatch(/^h:[0-9a-f]{64}$/)
    expect(b).not.toBe(a)
    expect(ids(long)).toEqual([a, b])
  })

  it('marks a single body that maps to several events as a batch, so errors name the index', () => {
    expect(FORMATS.eventbridge.decode(input, ctx).batch).toBe(true)
  })

  it('refuses a body that is neither an object nor an array', () => {
    for (const body of ['x', 3, null, []]) expect(() => FORMATS.record.decode(body, ctx)).toThrow(DomainError)
  })

  it('refuses more events than one request may carry', () => {
    const many = { ...(input as object), detail: { ...(input as { detail: object }).detail } } as {
      detail: { entities: unknown[] }
    }
    many.detail.entities = Array.from({ length: 600 }, (_, i) => ({ entity: { id: i } }))
    expect(() => FORMATS.eventbridge.decode([many, many], ctx)).toThrow(/at most 1000 events/)
  })
})

describe('CloudEvents binary mode', () => {
  it('refuses a ce-data header, since the body is the data', () => {
    const headers = h({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'a',
      'ce-source': 's',
      'ce-type': 't',
      'ce-data': '{}',
    })
    expect(() => FORMATS.cloudevents.decode({}, { headers, tenant: 'acme' })).toThrow(/ce-data/)
  })
})

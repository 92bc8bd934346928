import { describe, expect, it } from 'vitest'
import { DomainError } from '../../core/errors'
import { eventInputSchema } from '../../core/event-schema'
import { mapCloudEvents } from '../../core/formats/cloudevents'
import { mapEventBridge } from '../../core/formats/eventbridge'
import { mapRecord } from '../../core/formats/record'
import { mapResource } from '../../core/formats/resource'
import eventbridge from '../vectors/formats/eventbridge.json'
import record from '../vectors/formats/record.json'
import resource from '../vectors/formats/resource.json'

function failure(fn: () => unknown) {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError)
    return err as DomainError
  }
  throw new Error('expected a failure')
}

const headers = (h: Record<string, string>) => new Headers(h)

describe('golden mappings', () => {
  it(eventbridge.desc, () => {
    const out = mapEventBridge(eventbridge.input)
    expect(out).toEqual(eventbridge.want)
    for (const e of out) expect(eventInputSchema.safeParse(e).success).toBe(true)
  })
  it(record.desc, () => {
    const out = mapRecord(record.input)
    expect(out).toEqual(record.want)
    expect(eventInputSchema.safeParse(out[0]).success).toBe(true)
  })
  it(resource.desc, () => {
    const out = mapResource(resource.input, resource.tenant)
    expect(out).toEqual(resource.want)
    expect(eventInputSchema.safeParse(out[0]).success).toBe(true)
  })
  it('CloudEvents structured mode carrying an event v1, with defaults from the envelope', () => {
    const ce = {
      specversion: '1.0',
      id: 'ce-1',
      source: '/billing',
      type: 'com.example.audit',
      time: '2026-03-01T12:00:00Z',
      subject: 'acc_9',
      tenantext: 'x',
      data: {
        action: 'plan.changed',
        actor: { type: 'user', id: 'u_1' },
        target: { type: 'account', id: 'acc_9' },
      },
    }
    const { events } = mapCloudEvents(ce, headers({ 'content-type': 'application/cloudevents+json' }), 'acme')
    expect(events).toEqual([
      {
        id: 'ce-1',
        occurred_at: '2026-03-01T12:00:00Z',
        source: '/billing',
        action: 'plan.changed',
        actor: { type: 'user', id: 'u_1' },
        target: { type: 'account', id: 'acc_9' },
        metadata: {
          ce_id: 'ce-1',
          ce_source: '/billing',
          ce_type: 'com.example.audit',
          ce_subject: 'acc_9',
          ce_tenantext: 'x',
        },
      },
    ])
  })
  it('CloudEvents batch mode and data in other shapes', () => {
    const batch = [
      { specversion: '1.0', id: 'a', source: 's', type: 't', data: eventbridge.input },
      {
        specversion: '1.0',
        id: 'b',
        source: 's',
        type: 't',
        data_base64: Buffer.from(JSON.stringify(record.input)).toString('base64'),
      },
    ]
    const { events, batch: isBatch } = mapCloudEvents(
      batch,
      headers({ 'content-type': 'application/cloudevents-batch+json' }),
      'acme',
    )
    expect(isBatch).toBe(true)
    expect(events).toHaveLength(3)
    expect((events[2] as { action: string }).action).toBe('account.updated')
  })
  it('CloudEvents binary mode: attributes from ce-* headers', () => {
    const { events } = mapCloudEvents(
      {
        action: 'plan.changed',
        actor: { type: 'user', id: 'u_1' },
        target: { type: 'account', id: 'acc_9' },
      },
      headers({
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'bin-1',
        'ce-source': '/b',
        'ce-type': 't',
        'ce-time': '2026-03-01T12:00:00Z',
        'ce-traceparent': '00-abc',
      }),
      'acme',
    )
    expect(events[0]).toMatchObject({
      id: 'bin-1',
      occurred_at: '2026-03-01T12:00:00Z',
      metadata: { ce_traceparent: '00-abc', ce_datacontenttype: 'application/json' },
    })
  })
})

describe('bad input names the field', () => {
  it('EventBridge', () => {
    const bad = structuredClone(eventbridge.input) as Record<string, unknown> & {
      detail: { entities: { entity: Record<string, unknown> }[] }
    }
    bad.detail.entities[1]!.entity = { name: 'no id' }
    expect(failure(() => mapEventBridge(bad)).errors?.[0]?.path).toBe('detail.entities[1].entity.id')
    expect(
      failure(() =>
        mapEventBridge({
          ...eventbridge.input,
          detail: { ...eventbridge.input.detail, actor: { type: 7, name: 'x' } },
        }),
      ).errors?.[0]?.path,
    ).toBe('detail.actor.type')
  })
  it('record', () => {
    expect(failure(() => mapRecord({ ...record.input, kind: 'PATCH' })).errors?.[0]?.path).toBe('kind')
    const { author: _a, ...noActor } = record.input
    expect(failure(() => mapRecord(noActor)).errors?.[0]?.path).toBe('author')
  })
  it('resource, including a tenantId of another tenant', () => {
    expect(
      failure(() => mapResource({ ...resource.input, resource: { type: 'doc' } }, 'acme')).errors?.[0]?.path,
    ).toBe('resource.id')
    const e = failure(() => mapResource(resource.input, 'other'))
    expect(e.code).toBe('forbidden')
    expect(e.errors?.[0]?.path).toBe('tenantId')
  })
  it('CloudEvents', () => {
    const h = headers({ 'content-type': 'application/cloudevents+json' })
    expect(
      failure(() =>
        mapCloudEvents({ specversion: '0.3', id: 'a', source: 's', type: 't', data: {} }, h, 'acme'),
      ).errors?.[0]?.path,
    ).toBe('specversion')
    expect(
      failure(() => mapCloudEvents({ specversion: '1.0', id: 'a', source: 's', type: 't' }, h, 'acme'))
        .errors?.[0]?.path,
    ).toBe('data')
    const bin = headers({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-source': '/b',
      'ce-type': 't',
    })
    expect(failure(() => mapCloudEvents({}, bin, 'acme')).errors?.[0]?.path).toBe('ce-id')
  })
})

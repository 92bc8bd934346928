// Golden vectors: {desc, tenant, headers, input, want | wantErr} per format. Every `want` must
// also be valid event v1, since the ingest route validates decoded events like native ones.
import { describe, expect, it } from 'vitest'
import { DomainError } from '../../../core/errors'
import { eventInputSchema } from '../../../core/ingest/event-schema'
import { FORMATS, type FormatName } from '../../../core/ingest/formats'
import cloudevents from '../../vectors/formats/cloudevents.json'
import eventbridge from '../../vectors/formats/eventbridge.json'
import record from '../../vectors/formats/record.json'
import resource from '../../vectors/formats/resource.json'

type Case = {
  desc: string
  tenant: string
  headers: Record<string, string>
  input: unknown
  want?: unknown[]
  wantErr?: { code: string; paths: string[] }
}
const files = [eventbridge, cloudevents, record, resource] as { format: FormatName; cases: Case[] }[]

for (const file of files) {
  describe(`${file.format} vectors`, () => {
    for (const c of file.cases) {
      it(c.desc, () => {
        const decode = () =>
          FORMATS[file.format].decode(c.input, { headers: new Headers(c.headers), tenant: c.tenant })
        if (c.wantErr) {
          let err: unknown
          try {
            decode()
          } catch (e) {
            err = e
          }
          expect(err).toBeInstanceOf(DomainError)
          const e = err as DomainError
          expect(e.code).toBe(c.wantErr.code)
          expect([...new Set(e.errors?.map((x) => x.path))]).toEqual(c.wantErr.paths)
          return
        }
        const { events } = decode()
        expect(events).toEqual(c.want)
        for (const ev of events) expect(eventInputSchema.safeParse(ev).error).toBeUndefined()
      })
    }
  })
}

/** Every scalar the client sent, with its path; tenantId and specversion carry nothing to keep. */
function leaves(v: unknown, path = ''): [string, string | number | boolean][] {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [[path, v]]
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`))
  if (v && typeof v === 'object')
    return Object.entries(v)
      .filter(([k]) => k !== 'tenantId' && k !== 'specversion' && k !== 'data_base64')
      .flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k))
  return []
}

/** A field equal in before and after is no change; by design its value is not kept (README, "Input formats"). */
function withoutUnchanged(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUnchanged)
  if (!v || typeof v !== 'object') return v
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutUnchanged(x)]))
  const { before, after } = o as { before?: Record<string, unknown>; after?: Record<string, unknown> }
  if (before && after && typeof before === 'object' && typeof after === 'object') {
    for (const k of Object.keys(before)) {
      if (k in after && JSON.stringify(before[k]) === JSON.stringify(after[k])) {
        delete before[k]
        delete after[k]
      }
    }
  }
  return o
}

/** Source fields whose value is fully stated by the mapped event through a fixed table. */
const TABLED: Partial<Record<FormatName, RegExp>> = {
  // CREATE/UPDATE/DELETE is the verb of action: created/updated/deleted.
  record: /^(\[\d+\]\.)?kind$/,
}

describe('mappings are lossless', () => {
  for (const file of files) {
    for (const c of file.cases.filter((x) => x.want)) {
      it(`${file.format}: ${c.desc}`, () => {
        const out = JSON.stringify(c.want)
        const outTwice = JSON.stringify(out)
        const headerValues = Object.entries(c.headers)
          .filter(([k]) => k.startsWith('ce-') && k !== 'ce-specversion')
          .map(([k, v]) => [k, decodeURIComponent(v)] as [string, string])
        for (const [path, value] of [...leaves(withoutUnchanged(c.input)), ...headerValues]) {
          if (TABLED[file.format]?.test(path)) continue
          const text = JSON.stringify(String(value)).slice(1, -1)
          const kept = out.includes(text) || outTwice.includes(JSON.stringify(text).slice(1, -1))
          expect(kept, `${path} = ${value} is not in the mapped events`).toBe(true)
        }
      })
    }
  }
})

// The OpenAPI document (GET /openapi.json) as clients consume it: Redocly-lint clean, valid JSON
// Schema throughout, and precise enough that generated client types are usable as they are.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../worker/app'

type Doc = {
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; tags?: string[] }>>
  tags?: { name: string; description?: string }[]
  servers?: { url: string }[]
  info: { license?: { name: string } }
}

const NODE_ENV = {
  ...process.env,
  REDOCLY_TELEMETRY: 'off',
  REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  NO_COLOR: '1',
}
const bin = (name: string) => resolve('node_modules/.bin', name)

let dir: string
let docFile: string
let doc: Doc

beforeAll(async () => {
  const res = await createApp().request('/openapi.json', {}, {})
  expect(res.status).toBe(200)
  doc = (await res.json()) as Doc
  dir = mkdtempSync(join(tmpdir(), 'openapi-'))
  docFile = join(dir, 'openapi.json')
  writeFileSync(docFile, JSON.stringify(doc, null, 2))
})

function walk(node: unknown, visit: (o: Record<string, unknown>, at: string) => void, at = '#') {
  if (!node || typeof node !== 'object') return
  visit(node as Record<string, unknown>, at)
  for (const [k, v] of Object.entries(node)) walk(v, visit, `${at}/${k}`)
}

describe('GET /openapi.json', () => {
  it('passes redocly lint (redocly.yaml) with no errors', () => {
    const r = spawnSync(
      bin('redocly'),
      ['lint', docFile, '--config', resolve('redocly.yaml'), '--format', 'json'],
      { env: NODE_ENV, encoding: 'utf8', timeout: 60_000 },
    )
    const report = JSON.parse(r.stdout) as {
      totals: { errors: number; warnings: number }
      problems: { severity: string; ruleId: string; message: string; location: { pointer: string }[] }[]
    }
    const list = (severity: string) =>
      report.problems
        .filter((p) => p.severity === severity)
        .map((p) => `${p.ruleId}: ${p.message} (${p.location[0]?.pointer})`)
    if (report.totals.warnings > 0) console.log(`redocly lint warnings:\n${list('warn').join('\n')}`)
    expect(list('error')).toEqual([])
    expect(report.totals.errors).toBe(0)
  }, 60_000)

  it('names every operation after its handler, tags it, and says who may call it', () => {
    const ids = new Set<string>()
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z0-9]+$/)
        expect(ids.has(op.operationId!), `${op.operationId} is unique`).toBe(false)
        ids.add(op.operationId!)
        expect(op.tags?.length, `${method} ${path} has a tag`).toBe(1)
        expect(op.security, `${method} ${path} states its security`).toBeDefined()
      }
    for (const path of ['/.well-known/audit-log-keys', '/openapi.json', '/docs'])
      expect(doc.paths[path]?.get?.security, path).toEqual([])
    expect(doc.paths['/healthz']?.get?.security).toContainEqual({})
    const tags = new Set(doc.tags?.map((t) => t.name))
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops)) for (const t of op.tags ?? []) expect(tags.has(t), t).toBe(true)
    expect(doc.tags?.every((t) => t.description)).toBe(true)
    expect(doc.servers?.length).toBeGreaterThan(0)
    expect(doc.info.license?.name).toBeTruthy()
  })

  it('documents every content type POST /v1/events accepts', () => {
    const op = doc.paths['/v1/events']?.post as unknown as { requestBody: { content: object } }
    expect(Object.keys(op.requestBody.content).sort()).toEqual([
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'application/json',
    ])
  })

  it('has no untyped responses, regex flags in patterns, or empty-object defaults', () => {
    const problems: string[] = []
    walk(doc, (o, at) => {
      if (typeof o.pattern === 'string') {
        if (/\/[a-z]*$/.test(o.pattern) && !o.pattern.endsWith('$'))
          problems.push(`${at}: pattern with a flag`)
        try {
          new RegExp(o.pattern, 'u')
        } catch {
          problems.push(`${at}: pattern is not a valid unicode regex`)
        }
      }
      if (o.default !== undefined && typeof o.default === 'object') problems.push(`${at}: object default`)
      if (o.format === 'ip') problems.push(`${at}: format "ip" is not a JSON Schema format`)
    })
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const responses = (
          op as { responses: Record<string, { content?: Record<string, { schema: object }> }> }
        ).responses
        for (const [status, r] of Object.entries(responses))
          for (const [type, c] of Object.entries(r.content ?? {}))
            if (type.includes('json') && JSON.stringify(c.schema) === '{"type":"object"}')
              problems.push(`${method} ${path} ${status}: untyped object`)
      }
    expect(problems).toEqual([])
  })

  it('generates client types (openapi-typescript) in which fields have their real types', () => {
    const types = join(dir, 'api.d.ts')
    execFileSync(bin('openapi-typescript'), [docFile, '-o', types], { env: NODE_ENV, stdio: 'pipe' })
    const tsc = (name: string, body: string) => {
      const file = join(dir, name)
      writeFileSync(
        file,
        `import type { components, operations } from './api'\n` +
          `type S = components['schemas']\n` +
          `declare const ev: S['Event']\n${body}\n`,
      )
      // A bare program: no ambient types, so only the generated file decides what compiles.
      const config = join(dir, `tsconfig.${name}.json`)
      writeFileSync(
        config,
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'ES2022',
            module: 'ES2022',
            moduleResolution: 'Bundler',
            lib: ['ES2022'],
            types: [],
          },
          files: [file],
        }),
      )
      return spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', config], {
        encoding: 'utf8',
      })
    }
    const ok = tsc(
      'client.ts',
      [
        'const n: number = ev.seq',
        'const h: string = ev.hash',
        "const kind: 'user' | 'service' | 'api_key' | 'system' | 'ai' = ev.actor.type",
        "declare const page: operations['searchEvents']['responses'][200]['content']['application/json']",
        'const first: number | undefined = page.data[0]?.seq',
        'const next: string | null = page.next_cursor',
        "declare const proof: S['EventProof']",
        'const size: number = proof.inclusion_proof.tree_size + proof.checkpoint.seq + proof.record.seq',
        "declare const keys: S['SigningKeyDocument']",
        'const pub: string | undefined = keys.keys[0]?.public_key',
        // A description object's values may be left out, as the API accepts.
        "const input: S['EventInput']['description'] = { template: 'Role changed' }",
        "declare const status: S['IntegrityStatus']",
        'const alarmSeq: number | undefined = status.alarms[0]?.seq',
        'export const used = [n, h, kind, first, next, size, pub, input, alarmSeq]',
      ].join('\n'),
    )
    expect(ok.stdout + ok.stderr).toBe('')
    expect(ok.status).toBe(0)
    // Were seq `unknown` or `any`, one of these would compile.
    const wrong = tsc('wrong.ts', 'export const s: string = ev.seq')
    expect(wrong.status).not.toBe(0)
    expect(wrong.stdout).toContain("Type 'number' is not assignable to type 'string'")
  }, 120_000)
})

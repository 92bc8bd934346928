// The privacy policy on the whole local system (wrangler dev): the bytes on disk, the D1 SQLite
// files and the R2 blobs, never hold a protected field in plaintext, before or after an erasure,
// and the offline verifier accepts a pulled archive after the erasure.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, mintKey, startWorker, type WorkerServer } from '../../bench/lib/worker-server'
import { walk } from '../support/walk'

const TENANT = 'e2e-privacy'
const EMAIL = 'grace.hopper@example.com'
const IP = '192.0.2.201'
const UA = 'E2E-Privacy-Agent/7'
const PLAIN = [EMAIL, IP, UA]
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
let worker: WorkerServer
let writer: string
let piiReader: string
let tenantAdmin: string

/** Every file of the local state (D1 SQLite files with their WAL, R2 blobs), gunzipped when gzip. */
function stateText(dir: string, under: string): string {
  return walk(resolve(dir, under))
    .map((f) => {
      const b = readFileSync(f)
      return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b).toString('latin1') : b.toString('latin1')
    })
    .join('\n')
}

function cli(args: string[], key: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['cli/bin.js', ...args],
      { encoding: 'utf8', env: { ...process.env, AUDIT_LOG_URL: worker.url, AUDIT_LOG_KEY: key } },
      (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

async function getJson(path: string, key: string) {
  const res = await fetch(`${worker.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function archived(n: number) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${worker.url}/v1/archive/objects?prefix=events/tenant=${TENANT}/`, {
      headers: admin,
    })
    const objects = ((await res.json()) as { objects: unknown[] }).objects
    if (objects.length >= n) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error('the events were not archived')
}

beforeAll(async () => {
  worker = await startWorker('e2e-privacy')
  writer = await mintKey(worker.url, TENANT, ['events:write'])
  piiReader = await mintKey(worker.url, TENANT, ['events:read', 'pii:read'])
  tenantAdmin = await mintKey(worker.url, TENANT, ['admin'])
  const events = Array.from({ length: 5 }, (_, i) => ({
    id: `pe-${i}`,
    occurred_at: `2026-01-20T10:00:0${i}Z`,
    action: 'user.login',
    actor: { type: 'user', id: i < 3 ? 'u_grace' : 'u_other', email: EMAIL },
    target: { type: 'session', id: `s_${i}` },
    context: { ip: IP, user_agent: UA },
  }))
  const res = await fetch(`${worker.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
  expect(res.status).toBe(202)
  for (let i = 0; i < 150 && (await getJson('/v1/events/pe-4', piiReader)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 200))
  await archived(1)
})

afterAll(async () => {
  await worker?.stop()
})

describe('on disk under wrangler dev', () => {
  it('the D1 files and the R2 blobs hold no plaintext of a protected field; a pii:read reader sees it', async () => {
    const d1 = stateText(worker.state, 'v3/d1')
    const r2 = stateText(worker.state, 'v3/r2')
    expect(d1).toContain('sealed:v1:')
    expect(r2).toContain('sealed:v1:')
    for (const v of PLAIN) {
      expect(d1, v).not.toContain(v)
      expect(r2, v).not.toContain(v)
    }
    const e = await getJson('/v1/events/pe-0', piiReader)
    expect(e.body.actor).toMatchObject({ email: EMAIL })
  })

  it('after an erasure: the API shows "[erased]", nothing on disk yields the values, the verifier passes', async () => {
    const res = await fetch(`${worker.url}/v1/subjects/u_grace/erasure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantAdmin}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ subject: 'u_grace', keys_erased: 1 })
    expect((await getJson('/v1/events/pe-0', piiReader)).body.actor).toMatchObject({ email: '[erased]' })
    expect((await getJson('/v1/events/pe-4', piiReader)).body.actor).toMatchObject({ email: EMAIL })
    const exported = await (
      await fetch(`${worker.url}/v1/export?format=ndjson&actor_id=u_grace`, {
        headers: { authorization: `Bearer ${piiReader}` },
      })
    ).text()
    expect(exported).toContain('[erased]')
    for (const v of PLAIN) expect(exported).not.toContain(v)
    const d1 = stateText(worker.state, 'v3/d1')
    for (const v of PLAIN) expect(d1).not.toContain(v)

    // Checkpoints, then the archive pulled and verified offline.
    expect((await fetch(`${worker.url}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`)).status).toBe(
      200,
    )
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${worker.url}/v1/archive/objects?prefix=checkpoints/`, { headers: admin })
      if (((await r.json()) as { objects: unknown[] }).objects.length > 0) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const copy = join(mkdtempSync(join(tmpdir(), 'audit-log-privacy-')), 'archive')
    const pull = await cli(['archive', 'pull', copy, '--json'], ADMIN_TOKEN)
    expect(pull.code, pull.stderr).toBe(0)
    const verified = await cli(['verify', copy, '--json'], ADMIN_TOKEN)
    expect(verified.code, verified.stderr).toBe(0)
    const out = verified.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(out.find((l) => l.type === 'tenant' && l.tenant === TENANT)).toMatchObject({ ok: true })
    expect(out.at(-1)).toMatchObject({ type: 'summary', ok: true })
    const pulled = stateText(copy, '.')
    for (const v of PLAIN) expect(pulled).not.toContain(v)
  })
})

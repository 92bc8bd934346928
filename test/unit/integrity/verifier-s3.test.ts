// The verifier reading a bucket in place over the S3 API, against an S3-compatible server on
// loopback: the same verdicts as on a directory copy.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { AwsClient } from 'aws4fetch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { putS3, type S3Mirror } from '../../../core/archive/s3-mirror'
import type { PublicKeyDocument } from '../../../core/integrity/checkpoint'
import { RESUMES, s3Source, sourceFor } from '../../../verifier/archive-source'
import { verifyArchive } from '../../../verifier/verify-archive'
import { writeArchive } from '../../support/archive-fixture'
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from '../../support/local-s3'
import { walk } from '../../support/walk'

let s3: Awaited<ReturnType<typeof startLocalS3>>
let root: string
let keys: PublicKeyDocument
let bucket: S3Mirror

async function upload(prefix: string) {
  for (const f of walk(root)) {
    const key = relative(root, f).split('\\').join('/')
    if (key === 'audit-log-keys.json') continue
    await putS3({ ...bucket, prefix }, key, readFileSync(f), 'application/octet-stream')
  }
}

const source = (prefix: string) =>
  s3Source({ endpoint: s3.endpoint, bucket: s3.bucket, prefix, region: 'us-east-1', ...LOCAL_S3_CREDENTIALS })

beforeAll(async () => {
  s3 = await startLocalS3('archive')
  root = mkdtempSync(join(tmpdir(), 'archive-s3-'))
  ;({ keys } = await writeArchive(root, [
    { tenant: 'acme', batches: [40, 25, 35], day: (i) => Math.floor(i / 30), checkpointAfter: [0] },
    { tenant: 'beta corp/ü', batches: [10], day: () => 0 },
  ]))
  bucket = {
    client: new AwsClient({ ...LOCAL_S3_CREDENTIALS, region: 'us-east-1', service: 's3' }),
    base: `${s3.endpoint}/${s3.bucket}`,
    prefix: '',
  }
  await upload('sound/')
}, 60_000)

afterAll(async () => {
  await s3?.stop()
  rmSync(root, { recursive: true, force: true })
})

describe('offline verifier over S3', () => {
  it('verifies the bucket in place, as it does a directory copy', async () => {
    // A folder marker, as the S3 console creates, is not an object of the archive.
    await putS3(
      { ...bucket, prefix: 'sound/' },
      'events/tenant=acme/',
      Buffer.alloc(0),
      'application/x-directory',
    )
    const fromS3 = await verifyArchive(source('sound/'), keys)
    const fromDir = await verifyArchive(root, keys)
    expect(fromS3.break).toBeUndefined()
    expect(fromS3).toEqual(fromDir)
    expect(fromS3.tenants.map((t) => [t.tenant, t.events])).toEqual([
      ['acme', 100],
      ['beta corp/ü', 10],
    ])
  })

  it('reads objects stored with Content-Encoding: gzip, which HTTP clients decode on the way', async () => {
    for (const f of walk(root)) {
      const key = relative(root, f).split('\\').join('/')
      if (key === 'audit-log-keys.json') continue
      const res = await bucket.client.fetch(
        `${bucket.base}/encoded/${key.split('/').map(encodeURIComponent).join('/')}`,
        {
          method: 'PUT',
          body: readFileSync(f),
          headers: key.endsWith('.gz')
            ? { 'content-encoding': 'gzip', 'content-type': 'application/x-ndjson' }
            : {},
        },
      )
      expect(res.status).toBe(200)
    }
    const someFile = relative(root, walk(join(root, 'events'))[0]!)
      .split('\\')
      .join('/')
    const opened = await source('encoded/').open(someFile)
    opened.stream.destroy()
    expect(opened.decoded).toBe(true)
    expect(await verifyArchive(source('encoded/'), keys)).toEqual(await verifyArchive(root, keys))
  })

  it('names the first break in a bucket, and an unreadable object', async () => {
    await upload('edited/')
    const key = walk(join(root, 'events'))
      .map((f) => relative(root, f))
      .sort()
      .find((k) => k.includes('tenant=acme'))!
    const lines = gunzipSync(readFileSync(join(root, key)))
      .toString('utf8')
      .split('\n')
    lines[3] = lines[3]!.replace('"doc.updated"', '"doc.deleted"').replace('"user.login"', '"user.logout"')
    await putS3({ ...bucket, prefix: 'edited/' }, key, gzipSync(lines.join('\n')), 'application/gzip')
    const r = await verifyArchive(source('edited/'), keys)
    expect(r.break).toMatchObject({ kind: 'hash_mismatch', tenant: 'acme', file: key, line: 4, seq: 4 })

    await putS3({ ...bucket, prefix: 'edited/' }, key, Buffer.from('not gzip'), 'application/gzip')
    expect((await verifyArchive(source('edited/'), keys)).break).toMatchObject({
      kind: 'unreadable_file',
      file: key,
    })
  })

  it('CLI: s3:// URLs with the endpoint and credentials from the environment', async () => {
    const keysFile = join(root, 'audit-log-keys.json')
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    }
    // Asynchronous: the S3 server answers from this process's event loop.
    const cli = (args: string[], e: NodeJS.ProcessEnv = env) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'verifier/cli.ts', ...args],
          { env: e },
          (err, stdout, stderr) => done({ status: err ? Number(err.code) : 0, stdout, stderr }),
        )
      })
    const ok = await cli([`s3://${s3.bucket}/sound`, '--keys', keysFile])
    expect(ok.stderr).toBe('')
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/ok {2}acme: 100 events/)
    const noKeys = await cli([`s3://${s3.bucket}/sound`])
    expect(noKeys.status).toBe(2)
    expect(noKeys.stderr).toMatch(/pass --keys/)
    const { AWS_ACCESS_KEY_ID: _a, ...withoutKey } = env
    const noCreds = await cli([`s3://${s3.bucket}/sound`, '--keys', keysFile], withoutKey)
    expect(noCreds.status).toBe(2)
    expect(noCreds.stderr).toMatch(/set AWS_ACCESS_KEY_ID/)
    const badBucket = await cli([`s3://no-such-bucket/sound`, '--keys', keysFile])
    expect(badBucket.status).toBe(2)
    expect(badBucket.stderr).toMatch(/cannot read/)
  })

  it('reads r2:// URLs through R2_ENDPOINT and R2 credentials', async () => {
    const r2 = sourceFor(`r2://${s3.bucket}/sound/`, {
      R2_ENDPOINT: s3.endpoint,
      R2_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      R2_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    })
    expect((await verifyArchive(r2, keys)).ok).toBe(true)
    expect(() => sourceFor('r2://b/p', {})).toThrow(/R2_ACCOUNT_ID/)
  })
})

describe('offline verifier over S3, dropped connections', () => {
  /**
   * A proxy on loopback in front of the S3 server that cuts the connection halfway through the
   * body of an event object's GET, `drops` times per object; ranged GETs pass (`dropRanged`: cut
   * them too). Headers are passed as they are, so signatures still hold.
   */
  async function droppingProxy(drops: number, dropRanged = false) {
    const upstream = new URL(s3.endpoint)
    const dropped = new Map<string, number>()
    const ranged: string[] = []
    const server = createServer((req, res) => {
      const path = req.url ?? '/'
      if (req.headers.range) ranged.push(`${path} ${req.headers.range} ${req.headers['if-match']}`)
      const up = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers },
        (upRes) => {
          const cut =
            req.method === 'GET' &&
            path.includes('.ndjson.gz') &&
            (dropRanged || !req.headers.range) &&
            (dropped.get(path) ?? 0) < drops
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          if (!cut) return void upRes.pipe(res)
          dropped.set(path, (dropped.get(path) ?? 0) + 1)
          const body: Buffer[] = []
          upRes.on('data', (c: Buffer) => body.push(c))
          upRes.on('end', () => {
            const all = Buffer.concat(body)
            res.write(all.subarray(0, Math.floor(all.length / 2)))
            setTimeout(() => res.socket?.destroy(), 5)
          })
        },
      )
      req.pipe(up)
    })
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    const port = (server.address() as AddressInfo).port
    return {
      source: (prefix: string) =>
        s3Source({
          endpoint: `http://127.0.0.1:${port}`,
          bucket: s3.bucket,
          prefix,
          region: 'us-east-1',
          ...LOCAL_S3_CREDENTIALS,
        }),
      dropped,
      ranged,
      close: () => new Promise<void>((ok) => server.close(() => ok())),
    }
  }

  it('resumes an object from the byte it stopped at, pinned to its ETag', async () => {
    const proxy = await droppingProxy(1)
    try {
      const r = await verifyArchive(proxy.source('sound/'), keys)
      expect(r).toEqual(await verifyArchive(root, keys))
      expect(proxy.dropped.size).toBeGreaterThan(0)
      expect(proxy.ranged.length).toBe(proxy.dropped.size)
      for (const line of proxy.ranged) expect(line).toMatch(/ bytes=\d+- "?[0-9a-f]{32}"?$/)
    } finally {
      await proxy.close()
    }
  })

  it('names the object as unreadable once its connection keeps dropping', async () => {
    const proxy = await droppingProxy(1 + RESUMES, true)
    try {
      const r = await verifyArchive(proxy.source('sound/'), keys)
      expect(r.break).toMatchObject({ kind: 'unreadable_file', tenant: 'acme' })
      expect(r.break?.file).toMatch(/^events\/tenant=acme\//)
    } finally {
      await proxy.close()
    }
  })
})

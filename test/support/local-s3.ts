// An S3-compatible server (s3rver) on 127.0.0.1 standing in for the S3 mirror bucket. It keeps
// each object at <dir>/<bucket>/<key>._S3rver_object, which DuckDB reads directly.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export async function startLocalS3(bucket = 'mirror') {
  const dir = mkdtempSync(join(tmpdir(), 'local-s3-'))
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  })
  const { port } = (await server.run()) as { port: number }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    /** Glob of the mirrored archive objects, for DuckDB. */
    eventsGlob: join(dir, bucket, 'events', '**', '*.ndjson.gz._S3rver_object'),
    dir,
    async stop() {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

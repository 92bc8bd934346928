// R2 event notifications (production): each object written to the archive bucket is copied to
// the S3 mirror at once, so Athena sees it within seconds instead of at the next reconciler
// sweep. A failed copy is retried by the queue; the reconciler still converges if it never lands.
import { mirrorObject } from '../core/archive/mirror'
import type { Env } from '../core/env'

/** The parts of an R2 event notification message this handler reads. */
type R2Notification = { action?: string; object?: { key?: string } }

const COPIED_ACTIONS = new Set(['PutObject', 'CopyObject', 'CompleteMultipartUpload'])

export async function handleArchiveNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const n = msg.body as R2Notification
    const key = n.object?.key
    if (!key || !COPIED_ACTIONS.has(n.action ?? '')) {
      msg.ack()
      continue
    }
    try {
      await mirrorObject(env, key)
      msg.ack()
    } catch (err) {
      console.error(JSON.stringify({ msg: 'mirror copy failed', key, error: (err as Error).message }))
      msg.retry({ delaySeconds: 30 })
    }
  }
}

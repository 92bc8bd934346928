// The queue consumers (`queue`): each queue of wrangler.toml to its handler.
import type { Env } from '../core/env'
import { handleArchiveNotifications } from './archive-notifications'
import { handleDeadLetterBatch } from './dead-letter'
import { handleEventBatch } from './event-batch'

export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue.endsWith('-dlq')) await handleDeadLetterBatch(batch, env)
  else if (batch.queue.endsWith('-archive-notifications')) await handleArchiveNotifications(batch, env)
  else await handleEventBatch(batch, env)
}

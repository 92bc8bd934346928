// The dead-letter queue's consumer: parks each message in R2 with its reason
// (core/dead-letters.ts), where operators list and replay them.
import { asDeadLetter, parkDeadLetter } from '../core/dead-letters'
import type { Env } from '../core/env'

export async function handleDeadLetterBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    try {
      await parkDeadLetter(env.ARCHIVE, asDeadLetter(msg))
      msg.ack()
    } catch {
      msg.retry({ delaySeconds: 30 })
    }
  }
}

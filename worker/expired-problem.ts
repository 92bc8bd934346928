// The 410 answer of a by-id read (event, proof) of an expired event: the problem plus its
// tombstone (core/retention/tombstone.ts), which still proves the event's place in the chain.
import { z } from '@hono/zod-openapi'
import { tombstoneSchema } from '../core/retention/tombstone'
import { problemSchema } from './openapi'

export const expiredEventSchema = problemSchema
  .extend({
    event_id: z.string(),
    tombstone: tombstoneSchema.clone().openapi('Tombstone', {
      description:
        'What stays of an expired event: its chain position, class, Merkle leaf and chain hashes, and day (docs/retention.md)',
      example: {
        hash: 'b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78',
        prev_hash: '0000000000000000000000000000000000000000000000000000000000000000',
        seq: 1,
        retention: 'transient',
        leaf: '2d7f1e5b9c3a4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f',
        dt: '2026-01-31',
        expired_at: '2026-02-01T00:05:00.000Z',
      },
    }),
  })
  .openapi('ExpiredEvent')

export const goneResponse = {
  description: "The event's retention class period ended: only its tombstone is kept",
  content: { 'application/problem+json': { schema: expiredEventSchema } },
}

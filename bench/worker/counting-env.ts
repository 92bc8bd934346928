// What a deployment is billed for, counted inside the benchmarks' Worker when BENCH_COUNT=1
// (bench:cost): D1 statements and rows (./counting-d1.ts), R2 operations by class, queue messages
// and their bytes, and the invocations of each handler. Counts are per isolate; wrangler dev
// runs one, so they cover every handler of the run.
import type { Env } from '../../core/env'
import { countingD1, type D1Counts } from './counting-d1'

/** R2 operations by Cloudflare's billing class (delete is free). */
const R2_CLASS: Record<string, 'a' | 'b' | 'free'> = {
  put: 'a',
  list: 'a',
  createMultipartUpload: 'a',
  resumeMultipartUpload: 'a',
  get: 'b',
  head: 'b',
  delete: 'free',
}

export type BillingCounts = {
  d1: Omit<D1Counts, 'by_sql' | 'checked'>
  r2: { class_a: number; class_b: number; deletes: number; bytes_put: number; by_op: Record<string, number> }
  queue: { messages: number; bytes: number; ops_64k: number }
  invocations: { fetch: number; queue: number; scheduled: number }
}

const zero = (): BillingCounts => ({
  d1: { statements: 0, rows_read: 0, rows_written: 0, ms: 0 },
  r2: { class_a: 0, class_b: 0, deletes: 0, bytes_put: 0, by_op: {} },
  queue: { messages: 0, bytes: 0, ops_64k: 0 },
  invocations: { fetch: 0, queue: 0, scheduled: 0 },
})

let totals = zero()
/** Every counting D1 wrapper made (one per env object the runtime passes). */
const d1Counts: D1Counts[] = []
const wrapped = new WeakMap<object, Env>()

export function countingEnabled(env: Env): boolean {
  return (env as unknown as Record<string, unknown>).BENCH_COUNT === '1'
}

export function countInvocation(kind: keyof BillingCounts['invocations']): void {
  totals.invocations[kind]++
}

function byteLength(body: unknown): number {
  if (typeof body === 'string') return new TextEncoder().encode(body).length
  if (body instanceof ArrayBuffer) return body.byteLength
  if (ArrayBuffer.isView(body)) return body.byteLength
  if (body === null || body === undefined) return 0
  return new TextEncoder().encode(JSON.stringify(body)).length
}

function countingR2(inner: R2Bucket): R2Bucket {
  return new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop)
      if (typeof v !== 'function') return v
      const cls = typeof prop === 'string' ? R2_CLASS[prop] : undefined
      return (...args: unknown[]) => {
        if (cls !== undefined) {
          const r2 = totals.r2
          r2.by_op[prop as string] = (r2.by_op[prop as string] ?? 0) + 1
          if (cls === 'a') r2.class_a++
          else if (cls === 'b') r2.class_b++
          else r2.deletes++
          if (prop === 'put') r2.bytes_put += byteLength(args[1])
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}

/** Queues bill one operation per 64 KB of each message written, read and deleted: 3 per message. */
function countMessage(body: unknown) {
  const bytes = byteLength(body)
  totals.queue.messages++
  totals.queue.bytes += bytes
  totals.queue.ops_64k += 3 * Math.max(1, Math.ceil(bytes / 65_536))
}

function countingQueue<Q extends Queue<unknown>>(inner: Q): Q {
  return new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop)
      if (prop === 'send')
        return (body: unknown, opts?: unknown) => {
          countMessage(body)
          return target.send(body, opts as QueueSendOptions)
        }
      if (prop === 'sendBatch')
        return (messages: Iterable<MessageSendRequest<unknown>>, opts?: unknown) => {
          const list = [...messages]
          for (const m of list) countMessage(m.body)
          return target.sendBatch(list, opts as QueueSendBatchOptions)
        }
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/** The env with its billed bindings counted (the same object for every call with one env). */
export function countedEnv(env: Env): Env {
  if (!countingEnabled(env)) return env
  const hit = wrapped.get(env)
  if (hit) return hit
  // Every D1 shard binding (DB, DB_1, ...) counted.
  const shards: Record<string, D1Database> = {}
  for (const [name, v] of Object.entries(env))
    if (/^DB(_[0-9A-Z_]+)?$/.test(name)) {
      const d1 = countingD1(v as D1Database)
      d1Counts.push(d1.counts)
      shards[name] = d1.db
    }
  const out = {
    ...env,
    ...shards,
    ARCHIVE: countingR2(env.ARCHIVE),
    EVENTS_QUEUE: countingQueue(env.EVENTS_QUEUE),
    DEAD_LETTER_QUEUE: countingQueue(env.DEAD_LETTER_QUEUE),
  } as Env
  wrapped.set(env, out)
  return out
}

export function billingCounts(): BillingCounts {
  const d1 = zero().d1
  for (const c of d1Counts) {
    d1.statements += c.statements
    d1.rows_read += c.rows_read
    d1.rows_written += c.rows_written
    d1.ms += c.ms
  }
  return { ...totals, d1 }
}

export function resetBillingCounts(): void {
  totals = zero()
  for (const c of d1Counts) {
    c.statements = 0
    c.rows_read = 0
    c.rows_written = 0
    c.ms = 0
    c.by_sql = {}
  }
}

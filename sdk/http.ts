// Answers and retries: what is retried, how long to wait, and reading problem+json.
import type { Problem } from './types'

export type RetryPolicy = { maxAttempts: number; baseDelayMs: number; maxDelayMs: number }

/** 429 and every 5xx are worth another try; any other 4xx will fail the same way again. */
export function isRetryableStatus(status: number, problem?: Problem): boolean {
  // Stored data that fails its check fails every time: retrying only adds load.
  if (problem?.type?.endsWith(':integrity_violation')) return false
  return status === 429 || status >= 500
}

/**
 * Backoff before try `attempt + 1` (attempt counts from 1), "equal jitter": half of the
 * exponential step is fixed, half random, so clients that failed together spread out but never
 * retry at once.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return step / 2 + random() * (step / 2)
}

/**
 * The wait before the next try: what Retry-After asked for (plus up to baseDelayMs of jitter, so
 * clients told the same instant do not all arrive at once), else the backoff.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfter: number | undefined,
  random = Math.random,
): number {
  if (retryAfter === undefined) return backoffMs(attempt, policy, random)
  return retryAfter + random() * Math.min(policy.baseDelayMs, 1000)
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); else the body's `retry_after`. */
export function retryAfterMs(headers: Headers, problem?: Problem, now = Date.now()): number | undefined {
  const h = headers.get('retry-after')?.trim()
  if (h) {
    if (/^\d+$/.test(h)) return Number(h) * 1000
    const at = Date.parse(h)
    if (!Number.isNaN(at)) return Math.max(0, at - now)
  }
  const body = problem?.retry_after
  return typeof body === 'number' && Number.isFinite(body) && body >= 0 ? body * 1000 : undefined
}

/** The problem+json body of an error answer, or undefined when it is not one. */
export async function readProblem(res: Response): Promise<Problem | undefined> {
  let text: string
  try {
    text = await res.text()
  } catch {
    return undefined
  }
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const p = body as Partial<Problem>
      return {
        ...p,
        type: typeof p.type === 'string' ? p.type : 'about:blank',
        title: typeof p.title === 'string' ? p.title : res.statusText,
        status: typeof p.status === 'number' ? p.status : res.status,
        detail: typeof p.detail === 'string' ? p.detail : text.slice(0, 500),
      }
    }
  } catch {}
  return undefined
}

/** Reads an answer's body to the end so its connection can be reused. */
export async function discardBody(res: Response): Promise<void> {
  try {
    await res.arrayBuffer()
  } catch {}
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

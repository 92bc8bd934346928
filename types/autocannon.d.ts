// The part of autocannon's API the benchmarks use (the package ships no types).
declare module 'autocannon' {
  export type Options = {
    url: string
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'
    headers?: Record<string, string>
    body?: string
    /** Seconds. */
    duration?: number
    connections?: number
    pipelining?: number
  }
  /** A histogram summary: mean, spread and percentiles (latency in ms, requests per second). */
  export type Histogram = {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
  }
  export type Result = {
    url: string
    connections: number
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    latency: Histogram
    requests: Histogram & { sent: number }
    throughput: Histogram
  }
  export type Instance = { stop(): void }
  export default function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): Instance
}

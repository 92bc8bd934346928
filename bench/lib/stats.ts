// Order statistics of the benchmarks' samples (latencies, rates, ratios).

/**
 * The p-th percentile (0-100) of `xs`, nearest rank from below: the value at index
 * floor(p / 100 * n) of the sorted samples (the largest for p = 100). `xs` is left as it is.
 */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const v = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
  if (v === undefined) throw new Error('percentile of no samples')
  return v
}

/** The middle sample (the upper one of the two middles when there is an even number). */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50)
}

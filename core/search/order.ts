// The one reading order of events: newest first by (occurred_at, id), ids breaking ties, so the
// order is total and stable under equal timestamps. D1's ORDER BY (core/db/search.ts), the
// archive reader's sort and merges (core/search/history.ts) and the keyset cursor all follow it.

/** Negative when (t1, id1) reads before (t2, id2). */
export function newestFirstBy(t1: string, id1: string, t2: string, id2: string): number {
  if (t1 !== t2) return t1 < t2 ? 1 : -1
  return id1 < id2 ? 1 : id1 > id2 ? -1 : 0
}

export function newestFirst(
  a: { occurred_at: string; id: string },
  b: { occurred_at: string; id: string },
): number {
  return newestFirstBy(a.occurred_at, a.id, b.occurred_at, b.id)
}

// A D1 binding that counts what D1 bills: statements run and meta.rows_read / rows_written of every
// result, for bench routes that pass a wrapped env to product code (bench:monitor).
//
// drizzle-orm's D1 driver (node_modules/drizzle-orm/d1/session.js) runs selects with fields via
// `stmt.bind(...).raw()`, which returns rows as arrays and no meta. So raw() here runs `.all()`
// instead (same SQL, same parameters, one execution: its meta is D1's own count) and maps each
// row object back to an array of its values in column order. That mapping is only right when the
// column names are unique; the first time a SQL text goes through raw(), its result is checked
// against a real raw() of the same statement (not counted) and any difference throws.
// first() also runs as all(), for the same reason (first() carries no meta).

type Count = {
  statements: number
  rows_read: number
  rows_written: number
  /** Time awaiting D1 (the Worker's clock: it advances with I/O, so this is the round trips). */
  ms: number
}

export type D1Counts = Count & {
  /** SQL texts whose emulated raw() was checked against a real one. */
  checked: number
  /** The same counts per SQL text (a batch's time is counted with its first statement). */
  by_sql: Record<string, Count>
}

export function countingD1(inner: D1Database): { db: D1Database; counts: D1Counts } {
  const counts: D1Counts = { statements: 0, rows_read: 0, rows_written: 0, ms: 0, checked: 0, by_sql: {} }
  const checked = new Set<string>()
  const add = (sql: string, meta: { rows_read?: number; rows_written?: number } | undefined, ms: number) => {
    const one = counts.by_sql[sql] ?? { statements: 0, rows_read: 0, rows_written: 0, ms: 0 }
    counts.by_sql[sql] = one
    for (const c of [counts, one]) {
      c.statements++
      c.rows_read += meta?.rows_read ?? 0
      c.rows_written += meta?.rows_written ?? 0
      c.ms += ms
    }
  }

  class Statement {
    constructor(
      readonly inner: D1PreparedStatement,
      readonly sql: string,
    ) {}
    bind(...values: unknown[]) {
      return new Statement(this.inner.bind(...values), this.sql)
    }
    async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
      const t = Date.now()
      const r = await this.inner.all<T>()
      add(this.sql, r.meta, Date.now() - t)
      return r
    }
    async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
      const t = Date.now()
      const r = await this.inner.run<T>()
      add(this.sql, r.meta, Date.now() - t)
      return r
    }
    async first<T>(col?: string): Promise<T | null> {
      const row = (await this.all<Record<string, unknown>>()).results[0]
      if (row === undefined) return null
      return (col === undefined ? row : (row[col] ?? null)) as T | null
    }
    async raw(options?: { columnNames?: boolean }): Promise<unknown[]> {
      const { results } = await this.all<Record<string, unknown>>()
      const rows = results.map((r) => Object.values(r))
      // Checked once per SQL text, for reads only: running a write a second time would change
      // what it counts (an INSERT ... RETURNING through raw() is mapped without the check).
      if (!checked.has(this.sql) && /^\s*(select|with)\b/i.test(this.sql)) {
        checked.add(this.sql)
        counts.checked++
        const real = await this.inner.raw()
        if (JSON.stringify(real) !== JSON.stringify(rows))
          throw new Error(`counting D1: raw() emulated through all() differs for: ${this.sql}`)
      }
      if (options?.columnNames) {
        const names = results[0]
          ? Object.keys(results[0])
          : ((await this.inner.raw({ columnNames: true }))[0] ?? [])
        return [names, ...rows]
      }
      return rows
    }
  }

  const db = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'prepare')
        return (sql: string) => new Statement(target.prepare(sql), sql) as unknown as D1PreparedStatement
      if (prop === 'batch')
        return async (statements: D1PreparedStatement[]) => {
          const plain = statements.map((s) => (s instanceof Statement ? s.inner : s))
          const t = Date.now()
          const results = await target.batch(plain)
          const ms = Date.now() - t
          for (const [i, r] of results.entries()) {
            const s = statements[i]
            add(s instanceof Statement ? s.sql : 'batch', r.meta, i === 0 ? ms : 0)
          }
          return results
        }
      const v = Reflect.get(target, prop)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { db, counts }
}

// Just enough of the D1, R2 and Queue bindings, in Node, for product code that takes an Env to run
// in-process on a local D1 SQLite file (better-sqlite3): bench:monitor runs the integrity monitor
// this way next to the Worker, to tell its own compute from D1 round trips and wrangler dev.
// D1: prepare/bind/all/run/first/raw and batch (one transaction), which is what drizzle-orm's D1
// driver and core/ call. R2: put/get/list over a Map. Queues: send/sendBatch kept in an array.
import type Database from 'better-sqlite3'

type Row = Record<string, unknown>

/** The parts of better-sqlite3 used here that types/better-sqlite3.d.ts does not declare. */
type Sqlite = {
  prepare(sql: string): {
    reader: boolean
    all(...params: unknown[]): unknown[]
    run(...params: unknown[]): { changes: number }
    raw(on: boolean): { all(...params: unknown[]): unknown[] }
    columns(): { name: string }[]
  }
  exec(sql: string): void
}

function d1Statement(db: Sqlite, sql: string, params: unknown[] = []): D1PreparedStatement {
  const exec = () => {
    const stmt = db.prepare(sql)
    if (stmt.reader) return { rows: stmt.all(...params) as Row[], changes: 0 }
    return { rows: [] as Row[], changes: stmt.run(...params).changes }
  }
  const result = <T>(rows: Row[], changes: number) =>
    ({
      success: true,
      results: rows as T[],
      meta: { changes, rows_read: 0, rows_written: changes, duration: 0 },
    }) as unknown as D1Result<T>
  const s = {
    bind: (...values: unknown[]) => d1Statement(db, sql, values),
    async all<T>() {
      const { rows, changes } = exec()
      return result<T>(rows, changes)
    },
    async run<T>() {
      const { rows, changes } = exec()
      return result<T>(rows, changes)
    },
    async first(col?: string) {
      const row = exec().rows[0]
      if (row === undefined) return null
      return col === undefined ? row : (row[col] ?? null)
    },
    async raw(options?: { columnNames?: boolean }) {
      const stmt = db.prepare(sql)
      const rows = stmt.raw(true).all(...params) as unknown[][]
      return options?.columnNames ? [stmt.columns().map((c) => c.name), ...rows] : rows
    },
  }
  return s as unknown as D1PreparedStatement
}

export function nodeD1(database: Database): D1Database {
  const db = database as unknown as Sqlite
  return {
    prepare: (sql: string) => d1Statement(db, sql),
    async batch<T>(statements: D1PreparedStatement[]) {
      // One transaction, as D1's batch; each statement runs synchronously when all() is called.
      db.exec('BEGIN')
      try {
        const out: D1Result<T>[] = []
        for (const s of statements) out.push(await s.all<T>())
        db.exec('COMMIT')
        return out
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    },
  } as unknown as D1Database
}

export function nodeR2(
  objects = new Map<string, Uint8Array>(),
): R2Bucket & { objects: Map<string, Uint8Array> } {
  const bucket = {
    objects,
    async put(key: string, value: string | ArrayBuffer | Uint8Array) {
      objects.set(key, typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value))
      return { key }
    },
    async get(key: string) {
      const v = objects.get(key)
      if (!v) return null
      return {
        key,
        arrayBuffer: async () => v.slice().buffer,
        text: async () => new TextDecoder().decode(v),
      }
    },
    async list(o: { prefix?: string; cursor?: string; limit?: number; delimiter?: string } = {}) {
      const prefix = o.prefix ?? ''
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort()
      const start = o.cursor ? Number(o.cursor) : 0
      const limit = o.limit ?? 1000
      const page = keys.slice(start, start + limit)
      const truncated = start + limit < keys.length
      return {
        objects: page.map((key) => ({ key, size: objects.get(key)!.length })),
        delimitedPrefixes: [],
        truncated,
        ...(truncated ? { cursor: String(start + limit) } : {}),
      }
    },
  }
  return bucket as unknown as R2Bucket & { objects: Map<string, Uint8Array> }
}

export function nodeQueue(): Queue & { sent: unknown[] } {
  const sent: unknown[] = []
  return {
    sent,
    async send(body: unknown) {
      sent.push(body)
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body)
    },
  } as unknown as Queue & { sent: unknown[] }
}

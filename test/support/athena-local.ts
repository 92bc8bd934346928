// A local stand-in for Amazon Athena: an HTTP server on 127.0.0.1 speaking Athena's JSON
// protocol (StartQueryExecution, GetQueryExecution, GetQueryResults) that runs the SQL in
// DuckDB over an archive directory laid out like the S3 mirror. Each ExecutionParameter must be
// one literal (a quoted string with '' for a quote, or a number), as Athena requires; it is
// parsed and bound to its `?` through a DuckDB prepared statement, never spliced into the SQL,
// and anything else is refused the way Athena refuses it.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DuckDBInstance } from '@duckdb/node-api'
import { ARCHIVE_COLUMNS } from '../../athena/ddl'

/** The Athena table's declared column types (athena/ddl.ts) in DuckDB's spelling. */
export function duckType(hive: string): string {
  const t = hive.trim().replace(/`/g, '')
  if (t === 'string') return 'VARCHAR'
  if (t === 'int') return 'INTEGER'
  if (t === 'bigint') return 'BIGINT'
  const inner = (s: string) => s.slice(s.indexOf('<') + 1, s.lastIndexOf('>'))
  const split = (s: string) => {
    const parts: string[] = []
    let depth = 0
    let cur = ''
    for (const ch of s) {
      if (ch === '<') depth++
      if (ch === '>') depth--
      if (ch === ',' && depth === 0) {
        parts.push(cur)
        cur = ''
      } else cur += ch
    }
    if (cur) parts.push(cur)
    return parts
  }
  if (t.startsWith('array<')) return `${duckType(inner(t))}[]`
  if (t.startsWith('map<')) {
    const [k, v] = split(inner(t))
    return `MAP(${duckType(k!)}, ${duckType(v!)})`
  }
  if (t.startsWith('struct<')) {
    return `STRUCT(${split(inner(t))
      .map((f) => {
        const i = f.indexOf(':')
        return `"${f.slice(0, i)}" ${duckType(f.slice(i + 1))}`
      })
      .join(', ')})`
  }
  throw new Error(`no DuckDB type for ${hive}`)
}

export const DUCK_COLUMNS = `{${ARCHIVE_COLUMNS.map(([n, t]) => `'${n}': '${duckType(t)}'`).join(', ')}}`

type Result = { columns: string[]; rows: (string | null)[][] } | { error: string }

type Bound = string | number

/** One ExecutionParameter as the value it stands for; anything but a single literal is refused. */
export function parseParameter(p: string): Bound {
  const str = /^'((?:[^']|'')*)'$/s.exec(p)
  if (str) return str[1]!.replace(/''/g, "'")
  if (/^-?\d+(\.\d+)?$/.test(p)) return Number(p)
  throw Object.assign(new Error(`ExecutionParameter is not a literal: ${p.slice(0, 80)}`), {
    type: 'InvalidRequestException',
  })
}

/** The SQL with each `?` outside string literals numbered ($1, $2, ...) for binding. */
function numberPlaceholders(sql: string, count: number): string {
  let out = ''
  let i = 0
  let inString = false
  for (const ch of sql) {
    if (ch === "'") inString = !inString
    if (ch === '?' && !inString) out += `$${++i}`
    else out += ch
  }
  if (i !== count)
    throw Object.assign(new Error(`the query has ${i} parameters, ${count} ExecutionParameters were given`), {
      type: 'InvalidRequestException',
    })
  return out
}

export async function startLocalAthena(o: {
  eventsGlob: string
  database: string
  table: string
  compression?: string
}) {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run(`CREATE SCHEMA "${o.database}"`)
  await conn.run(
    `CREATE VIEW "${o.database}"."${o.table}" AS SELECT * FROM read_json('${o.eventsGlob}', format = 'newline_delimited', compression = '${o.compression ?? 'gzip'}', hive_partitioning = true, hive_types = {'tenant': 'VARCHAR', 'dt': 'VARCHAR'}, columns = ${DUCK_COLUMNS})`,
  )
  const results = new Map<string, Result>()
  const polls = new Map<string, number>()
  const executed: { sql: string; values: Bound[] }[] = []
  let n = 0

  const handlers: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    async StartQueryExecution(b) {
      const params = ((b.ExecutionParameters as string[] | undefined) ?? []).map(parseParameter)
      const sql = numberPlaceholders(String(b.QueryString), params.length)
      const id = `q-${++n}`
      executed.push({ sql, values: params })
      try {
        const r = await conn.runAndReadAll(sql, params)
        results.set(id, {
          columns: r.columnNames(),
          rows: r.getRows().map((row) => row.map((v) => (v === null || v === undefined ? null : String(v)))),
        })
      } catch (err) {
        results.set(id, { error: (err as Error).message })
      }
      return { QueryExecutionId: id }
    },
    async GetQueryExecution(b) {
      const id = String(b.QueryExecutionId)
      const r = results.get(id)
      if (!r) throw Object.assign(new Error(`unknown query ${id}`), { type: 'InvalidRequestException' })
      // The first poll sees the query still running, as Athena's usually do.
      const seen = (polls.get(id) ?? 0) + 1
      polls.set(id, seen)
      const state = seen === 1 ? 'RUNNING' : 'error' in r ? 'FAILED' : 'SUCCEEDED'
      return {
        QueryExecution: {
          QueryExecutionId: id,
          Status: { State: state, ...('error' in r ? { StateChangeReason: r.error } : {}) },
        },
      }
    },
    async GetQueryResults(b) {
      const r = results.get(String(b.QueryExecutionId))
      if (!r || 'error' in r)
        throw Object.assign(new Error('no results'), { type: 'InvalidRequestException' })
      const max = Number(b.MaxResults ?? 1000)
      const start = b.NextToken ? Number(b.NextToken) : 0
      const all = [r.columns, ...r.rows]
      const page = all.slice(start, start + max)
      return {
        ResultSet: {
          Rows: page.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
          ResultSetMetadata: { ColumnInfo: r.columns.map((c) => ({ Name: c, Type: 'varchar' })) },
        },
        ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
      }
    },
  }

  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => {
      raw += c
    })
    req.on('end', async () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace('AmazonAthena.', '')
      const handler = handlers[op]
      res.setHeader('content-type', 'application/x-amz-json-1.1')
      try {
        if (!handler)
          throw Object.assign(new Error(`unsupported operation ${op}`), { type: 'InvalidRequestException' })
        res.end(JSON.stringify(await handler(JSON.parse(raw || '{}'))))
      } catch (err) {
        res.statusCode = 400
        res.end(
          JSON.stringify({
            __type: (err as { type?: string }).type ?? 'InternalServerException',
            message: (err as Error).message,
          }),
        )
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    executed,
    async stop() {
      await new Promise((r) => server.close(r))
      conn.closeSync()
    },
  }
}

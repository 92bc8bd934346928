// Runs a typed query on Athena: start, poll with backoff, page through the results.
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena'
import { type AthenaQuery, type AthenaRow, buildQuery } from './query'

export type RunOptions = {
  database: string
  table?: string
  workGroup?: string
  outputLocation?: string
  maxDays?: number
  /** The tenant's HMAC key: filters on hashed fields (ip) match their stored form (athena/query.ts). */
  hashKey?: string
  /** Polling: first delay and cap, in ms. */
  pollMs?: number
  maxPollMs?: number
  timeoutMs?: number
}

export class AthenaQueryError extends Error {}

export async function runQuery(
  client: AthenaClient,
  query: AthenaQuery,
  o: RunOptions,
): Promise<AthenaRow[]> {
  const { sql, parameters } = buildQuery(query, {
    database: o.database,
    table: o.table ?? 'events',
    maxDays: o.maxDays,
    hashKey: o.hashKey,
  })
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      ExecutionParameters: parameters,
      QueryExecutionContext: { Database: o.database },
      WorkGroup: o.workGroup,
      ...(o.outputLocation ? { ResultConfiguration: { OutputLocation: o.outputLocation } } : {}),
    }),
  )
  const id = started.QueryExecutionId
  if (!id) throw new AthenaQueryError('Athena returned no query execution id')
  let delay = o.pollMs ?? 200
  const deadline = Date.now() + (o.timeoutMs ?? 300_000)
  for (;;) {
    const ex = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))
    const state = ex.QueryExecution?.Status?.State
    if (state === 'SUCCEEDED') break
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new AthenaQueryError(
        `query ${id} ${state}: ${ex.QueryExecution?.Status?.StateChangeReason ?? ''}`,
      )
    }
    if (Date.now() > deadline) throw new AthenaQueryError(`query ${id} still ${state} after the timeout`)
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, o.maxPollMs ?? 5000)
  }
  const rows: AthenaRow[] = []
  let header: string[] | undefined
  let token: string | undefined
  do {
    const page = await client.send(
      new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
    )
    for (const r of page.ResultSet?.Rows ?? []) {
      const values = (r.Data ?? []).map((d) => d.VarCharValue ?? null)
      if (!header) {
        header = values.map(String)
        continue
      }
      const row = Object.fromEntries(header.map((h, i) => [h, values[i] ?? null]))
      rows.push({ ...row, seq: Number(row.seq) } as AthenaRow)
    }
    token = page.NextToken
  } while (token)
  return rows
}

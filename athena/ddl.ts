// The Athena table over the S3 mirror: Hive JSON SerDe, one column per stored-event field
// (core/ingest/stored-event.ts), partition projection with `tenant` injected (every query must name a
// tenant) and `dt` a date range, so Athena never lists partitions and prunes to the days asked.
export type DdlOptions = {
  bucket: string
  prefix?: string
  database?: string
  table?: string
  since?: string
}

export const ARCHIVE_COLUMNS: [string, string][] = [
  ['v', 'int'],
  ['id', 'string'],
  ['seq', 'bigint'],
  ['occurred_at', 'string'],
  ['received_at', 'string'],
  ['action', 'string'],
  ['actor', 'struct<type:string,id:string,name:string,email:string>'],
  ['target', 'struct<type:string,id:string,name:string,url:string>'],
  ['parent', 'struct<type:string,id:string,name:string>'],
  ['outcome', 'struct<status:string,code:string,reason:string>'],
  ['changes', 'array<struct<field:string,before:string,after:string>>'],
  [
    'context',
    'struct<ip:string,user_agent:string,request_id:string,session_id:string,correlation_id:string>',
  ],
  ['source', 'string'],
  ['description', 'struct<template:string,`values`:map<string,string>>'],
  ['metadata', 'map<string,string>'],
  ['ingest', 'struct<key_id:string,request_id:string,colo:string,country:string>'],
  ['prev_hash', 'string'],
  ['hash', 'string'],
  // The retention class (core/retention/classes.ts); on a tombstone row also its leaf and when the
  // event expired: a tombstone has no other event field (docs/retention.md).
  ['retention', 'string'],
  ['leaf', 'string'],
  ['expired_at', 'string'],
]

const IDENT = /^[a-z_][a-z0-9_]*$/

export function athenaDdl(o: DdlOptions): string {
  const database = o.database ?? 'audit_log'
  const table = o.table ?? 'events'
  if (!IDENT.test(database) || !IDENT.test(table))
    throw new Error('database and table must be lower-case identifiers')
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket))
    throw new Error(`"${o.bucket}" is not an S3 bucket name`)
  const prefix = (o.prefix ?? '').replace(/^\/+|\/+$/g, '')
  if (/['\\]/.test(prefix)) throw new Error('prefix may not contain quotes or backslashes')
  const root = `s3://${o.bucket}/${prefix ? `${prefix}/` : ''}events/`
  const since = o.since ?? '2020-01-01'
  if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error('since must be YYYY-MM-DD')
  const cols = ARCHIVE_COLUMNS.map(([n, t]) => `  \`${n}\` ${t}`).join(',\n')
  return `CREATE EXTERNAL TABLE IF NOT EXISTS ${database}.${table} (
${cols}
)
PARTITIONED BY (\`tenant\` string, \`dt\` string)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${root}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.tenant.type' = 'injected',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '${since},NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '${root}tenant=\${tenant}/dt=\${dt}/'
);

-- Query this view: while a day is being compacted its events can briefly sit in both the old
-- files and the merged one; the view keeps one row per (tenant, dt, seq), the tombstone when an
-- event has just expired (rows with expired_at set are tombstones: live events are
-- expired_at IS NULL). Filters on tenant and dt are pushed below the window, so partition
-- projection still prunes.
CREATE OR REPLACE VIEW ${database}.${table}_v AS
SELECT ${ARCHIVE_COLUMNS.map(([n]) => `"${n}"`).join(', ')}, tenant, dt
FROM (
  SELECT *, row_number() OVER (PARTITION BY tenant, dt, seq ORDER BY expired_at IS NULL, hash) AS copy_no
  FROM ${database}.${table}
)
WHERE copy_no = 1;`
}

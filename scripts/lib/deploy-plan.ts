// The deploy's plan and its steps, over an injected wrangler runner (scripts/deploy.ts runs the
// real one; the unit tests a fake account). Every step looks first and creates only what is
// missing, so a second deploy creates nothing. A dry run changes nothing: it looks where it can
// (with credentials) and otherwise says what it would check.

export type RunResult = { status: number; stdout: string; stderr: string }
/** Runs `wrangler <args>`; `input` goes to its standard input; `stream` also shows its output. */
export type Runner = (args: string[], options?: { input?: string; stream?: boolean }) => Promise<RunResult>

export type DeployConfig = {
  worker: string
  d1: { binding: string; name: string; id: string | undefined }[]
  buckets: string[]
  queues: string[]
  /** R2 event notifications: object-create on `bucket` to `queue`. */
  notifications: { bucket: string; queue: string }[]
  /** Secrets the deploy generates when missing (strong random values). */
  generatedSecrets: string[]
  /** Secrets only the operator can give (the S3 mirror); reported, never generated. */
  optionalSecrets: string[]
}

export const UNSET_DATABASE_ID = '00000000-0000-0000-0000-000000000000'
/**
 * A placeholder id: all zeros but for the last digits, which tell the shards apart locally (the
 * local D1 of each binding is kept by its id, so two bindings need two ids before deployment).
 */
export const isUnsetDatabaseId = (id: string) => /^00000000-0000-0000-0000-0{8}[0-9]{4}$/.test(id)
/** The archive bucket's notifications go to this consumer queue (queue-consumer/archive-notifications.ts). */
export const ARCHIVE_NOTIFICATION_QUEUE = 'audit-archive-notifications'
export const ARCHIVE_BINDING = 'ARCHIVE'
export const GENERATED_SECRETS = ['ADMIN_TOKEN', 'SIGNING_KEYS', 'PII_KEYS']

type WranglerConfigLike = {
  name?: string
  d1_databases?: { binding: string; database_name?: string; database_id?: string }[]
  r2_buckets?: { binding: string; bucket_name?: string }[]
  queues?: {
    producers?: { queue: string }[]
    consumers?: { queue: string; dead_letter_queue?: string }[]
  }
}

/** What the deploy needs from the wrangler config and the secrets' names (.dev.vars.example). */
export function deployConfigFrom(config: WranglerConfigLike, secretNames: string[]): DeployConfig {
  if (!config.name) throw new DeployError('the wrangler config names no Worker (name = ...)')
  const d1 = (config.d1_databases ?? []).map((d) => {
    if (!d.database_name) throw new DeployError(`the D1 binding ${d.binding} has no database_name`)
    return { binding: d.binding, name: d.database_name, id: d.database_id }
  })
  const buckets = (config.r2_buckets ?? []).map((b) => {
    if (!b.bucket_name) throw new DeployError(`the R2 binding ${b.binding} has no bucket_name`)
    return b.bucket_name
  })
  const queues = new Set<string>()
  for (const p of config.queues?.producers ?? []) queues.add(p.queue)
  for (const c of config.queues?.consumers ?? []) {
    queues.add(c.queue)
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue)
  }
  const archive = config.r2_buckets?.find((b) => b.binding === ARCHIVE_BINDING)?.bucket_name
  const notifications =
    archive && queues.has(ARCHIVE_NOTIFICATION_QUEUE)
      ? [{ bucket: archive, queue: ARCHIVE_NOTIFICATION_QUEUE }]
      : []
  return {
    worker: config.name,
    d1,
    buckets,
    queues: [...queues],
    notifications,
    generatedSecrets: GENERATED_SECRETS.filter((s) => secretNames.includes(s)),
    optionalSecrets: secretNames.filter((s) => !GENERATED_SECRETS.includes(s)),
  }
}

export class DeployError extends Error {}

export type StepStatus =
  | 'present' // found, nothing to do
  | 'created' // did not exist, created now
  | 'done' // ran (migrations, config write, deployment)
  | 'would create'
  | 'would run'
  | 'would check' // a dry run without the Cloudflare API: unknown whether it exists
  | 'not set' // an optional secret the operator has not given

export type Step = { kind: string; resource: string; status: StepStatus; detail?: string }

export type DeployOptions = {
  config: DeployConfig
  run: Runner
  dryRun: boolean
  /** Whether lookups may call the Cloudflare API during a dry run (credentials are present). */
  canLookUp: boolean
  log: (line: string) => void
  /** Writes a database id into the wrangler config. */
  writeDatabaseId: (databaseName: string, id: string) => void
  /** Fresh values for the missing generated secrets. */
  generateSecrets: (names: string[]) => Promise<{ values: Record<string, string>; notes: string[] }>
  /** Runs the deployment with these secrets uploaded along (`wrangler deploy --secrets-file`). */
  deployWith: (secrets: Record<string, string>) => Promise<RunResult>
  /** The dry run's bundle: `wrangler deploy --dry-run --outdir <tmp>`, answering a size line. */
  bundle: () => Promise<string>
}

const NO_API = 'no credentials'

function format(s: Step): string {
  return `${s.kind.padEnd(16)} ${s.resource.padEnd(48)} ${s.status}${s.detail ? `: ${s.detail}` : ''}`
}

/** Runs the deploy (or, with dryRun, plans it) and returns every step, in order. */
export async function runDeploy(o: DeployOptions): Promise<Step[]> {
  const steps: Step[] = []
  const add = (s: Step) => {
    steps.push(s)
    o.log(format(s))
  }
  const lookUps = !o.dryRun || o.canLookUp
  /** A lookup's output, or undefined when a dry run cannot or could not look. */
  const look = async (args: string[], what: string): Promise<string | undefined> => {
    if (!lookUps) return undefined
    const r = await o.run(args)
    if (r.status === 0) return r.stdout
    const reason = firstLine(r.stderr || r.stdout)
    if (o.dryRun) {
      lookupFailures.push(`${what}: ${reason}`)
      return undefined
    }
    throw new DeployError(`wrangler ${args.join(' ')} failed: ${reason}`)
  }
  const lookupFailures: string[] = []
  const unknown = (cmd: string) => `${cmd} (${lookUps ? 'lookup failed' : NO_API})`

  o.log(`${o.dryRun ? 'Plan (dry run: nothing is changed)' : 'Deploy'} of Worker ${o.config.worker}`)

  // D1 databases, then their ids in the config, then migrations (which use the config's id).
  let d1List: { name: string; uuid: string }[] | undefined
  const listD1 = async () => {
    const out = await look(['d1', 'list', '--json'], 'd1 list')
    return out === undefined ? undefined : parseD1List(out)
  }
  d1List = o.config.d1.length > 0 ? await listD1() : []
  for (const db of o.config.d1) {
    const resource = `${db.name} (${db.binding})`
    const configured = db.id && !isUnsetDatabaseId(db.id) ? db.id : undefined
    let found = d1List?.find((d) => d.name === db.name)
    if (d1List === undefined) {
      add({
        kind: 'd1 database',
        resource,
        status: 'would check',
        detail: unknown('wrangler d1 list --json'),
      })
    } else if (found) {
      if (configured && configured !== found.uuid)
        throw new DeployError(
          `wrangler.toml's database_id for ${db.name} is ${configured}, but the account's database of that name is ${found.uuid}`,
        )
      add({ kind: 'd1 database', resource, status: 'present', detail: found.uuid })
    } else if (configured) {
      throw new DeployError(
        `wrangler.toml names database ${db.name} with id ${configured}, but the account has no database of that name`,
      )
    } else if (o.dryRun) {
      add({ kind: 'd1 database', resource, status: 'would create', detail: `wrangler d1 create ${db.name}` })
    } else {
      await must(o.run(['d1', 'create', db.name]), `d1 create ${db.name}`)
      d1List = await listD1()
      found = d1List?.find((d) => d.name === db.name)
      if (!found)
        throw new DeployError(`created D1 database ${db.name} but wrangler d1 list does not show it`)
      add({ kind: 'd1 database', resource, status: 'created', detail: found.uuid })
    }
    if (found && configured !== found.uuid) {
      if (o.dryRun)
        add({
          kind: 'config',
          resource: `database_id of ${db.name}`,
          status: 'would run',
          detail: `write ${found.uuid}`,
        })
      else {
        o.writeDatabaseId(db.name, found.uuid)
        add({
          kind: 'config',
          resource: `database_id of ${db.name}`,
          status: 'done',
          detail: `wrote ${found.uuid}`,
        })
      }
    } else if (!found && !configured) {
      add({
        kind: 'config',
        resource: `database_id of ${db.name}`,
        status: 'would run',
        detail: 'write the id once the database exists',
      })
    } else {
      add({ kind: 'config', resource: `database_id of ${db.name}`, status: 'present', detail: configured })
    }
    const migrate = ['d1', 'migrations', 'apply', db.binding, '--remote']
    if (o.dryRun)
      add({
        kind: 'd1 migrations',
        resource,
        status: 'would run',
        detail: `wrangler ${migrate.join(' ')} (applies only the pending ones)`,
      })
    else {
      await must(o.run(migrate, { stream: true }), migrate.join(' '))
      add({ kind: 'd1 migrations', resource, status: 'done', detail: 'pending migrations applied' })
    }
  }

  // R2 buckets.
  const bucketList = o.config.buckets.length > 0 ? await look(['r2', 'bucket', 'list'], 'r2 bucket list') : ''
  const buckets = bucketList === undefined ? undefined : parseR2BucketList(bucketList)
  for (const name of o.config.buckets) {
    if (buckets === undefined)
      add({
        kind: 'r2 bucket',
        resource: name,
        status: 'would check',
        detail: unknown('wrangler r2 bucket list'),
      })
    else if (buckets.includes(name)) add({ kind: 'r2 bucket', resource: name, status: 'present' })
    else if (o.dryRun)
      add({
        kind: 'r2 bucket',
        resource: name,
        status: 'would create',
        detail: `wrangler r2 bucket create ${name}`,
      })
    else {
      await must(o.run(['r2', 'bucket', 'create', name]), `r2 bucket create ${name}`)
      add({ kind: 'r2 bucket', resource: name, status: 'created' })
    }
  }

  // Queues: events, dead letters, archive notifications.
  const queueList = o.config.queues.length > 0 ? await look(['queues', 'list'], 'queues list') : ''
  const queues = queueList === undefined ? undefined : parseQueueList(queueList)
  for (const name of o.config.queues) {
    if (queues === undefined)
      add({ kind: 'queue', resource: name, status: 'would check', detail: unknown('wrangler queues list') })
    else if (queues.includes(name)) add({ kind: 'queue', resource: name, status: 'present' })
    else if (o.dryRun)
      add({ kind: 'queue', resource: name, status: 'would create', detail: `wrangler queues create ${name}` })
    else {
      await must(o.run(['queues', 'create', name]), `queues create ${name}`)
      add({ kind: 'queue', resource: name, status: 'created' })
    }
  }

  // R2 event notifications (after the bucket and the queue exist).
  for (const n of o.config.notifications) {
    const resource = `${n.bucket} -> ${n.queue}`
    const create = [
      'r2',
      'bucket',
      'notification',
      'create',
      n.bucket,
      '--event-type',
      'object-create',
      '--queue',
      n.queue,
    ]
    const bucketKnownMissing = buckets !== undefined && !buckets.includes(n.bucket)
    const rules = bucketKnownMissing
      ? ''
      : await look(['r2', 'bucket', 'notification', 'list', n.bucket], 'r2 bucket notification list')
    if (rules === undefined)
      add({
        kind: 'r2 notification',
        resource,
        status: 'would check',
        detail: unknown(`wrangler r2 bucket notification list ${n.bucket}`),
      })
    else if (hasObjectCreateRule(rules, n.queue))
      add({ kind: 'r2 notification', resource, status: 'present', detail: 'object-create' })
    else if (o.dryRun)
      add({
        kind: 'r2 notification',
        resource,
        status: 'would create',
        detail: `wrangler ${create.join(' ')}`,
      })
    else {
      await must(o.run(create), create.join(' '))
      add({ kind: 'r2 notification', resource, status: 'created', detail: 'object-create' })
    }
  }

  // Secrets: which are set (names only; values can never be read back).
  const secretsOut = await lookSecrets(o, lookUps, lookupFailures)
  const missing: string[] = []
  for (const name of [...o.config.generatedSecrets, ...o.config.optionalSecrets]) {
    const generated = o.config.generatedSecrets.includes(name)
    if (secretsOut === undefined) {
      add({
        kind: 'secret',
        resource: name,
        status: 'would check',
        detail: `${unknown(`wrangler secret list --name ${o.config.worker}`)}; ${generated ? 'generated if missing' : 'never generated'}`,
      })
      if (generated) missing.push(name)
    } else if (secretsOut.includes(name)) add({ kind: 'secret', resource: name, status: 'present' })
    else if (!generated)
      add({
        kind: 'secret',
        resource: name,
        status: 'not set',
        detail:
          'optional, never generated: the S3 mirror is off until it is set (docs/deploy.md, The S3 mirror)',
      })
    else {
      missing.push(name)
      add({
        kind: 'secret',
        resource: name,
        status: o.dryRun ? 'would create' : 'created',
        detail: `${o.dryRun ? 'would be generated' : 'generated'}, uploaded with the deployment as a secret of Worker ${o.config.worker}`,
      })
    }
  }

  // The deployment.
  if (o.dryRun) {
    const size = await o.bundle()
    add({
      kind: 'worker',
      resource: o.config.worker,
      status: 'would run',
      detail: `wrangler deploy; ${size}`,
    })
    if (lookupFailures.length > 0)
      o.log(`Lookups that failed (reported as "would check"):\n  ${lookupFailures.join('\n  ')}`)
    return steps
  }
  const fresh = missing.length > 0 ? await o.generateSecrets(missing) : { values: {}, notes: [] }
  await must(o.deployWith(fresh.values), 'deploy')
  add({
    kind: 'worker',
    resource: o.config.worker,
    status: 'done',
    detail: missing.length > 0 ? `deployed with new secrets ${missing.join(', ')}` : 'deployed',
  })
  for (const note of fresh.notes) o.log(note)
  return steps
}

async function lookSecrets(
  o: DeployOptions,
  lookUps: boolean,
  failures: string[],
): Promise<string[] | undefined> {
  if (!lookUps) return undefined
  const r = await o.run(['secret', 'list', '--name', o.config.worker, '--format', 'json'])
  if (r.status === 0) return parseSecretList(r.stdout)
  const text = `${r.stderr}\n${r.stdout}`
  // A Worker not deployed yet has no secrets.
  if (/10007|does not exist|not found/i.test(text)) return []
  if (o.dryRun) {
    failures.push(`secret list: ${firstLine(text)}`)
    return undefined
  }
  throw new DeployError(`wrangler secret list failed: ${firstLine(text)}`)
}

async function must(p: Promise<RunResult>, what: string): Promise<RunResult> {
  const r = await p
  if (r.status !== 0) throw new DeployError(`wrangler ${what} failed: ${firstLine(r.stderr || r.stdout)}`)
  return r
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

function firstLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(ANSI, '').trim())
    .filter((l) => l && !/^[-─\s]+$/.test(l) && !l.startsWith('⛅'))
  const error = lines.find((l) => /error|✘|failed|not |could/i.test(l))
  return (error ?? lines[0] ?? 'no output').slice(0, 300)
}

/** `wrangler d1 list --json`: [{uuid, name, ...}]. */
export function parseD1List(out: string): { name: string; uuid: string }[] {
  const start = out.indexOf('[')
  const parsed = JSON.parse(start < 0 ? out : out.slice(start)) as { name?: unknown; uuid?: unknown }[]
  return parsed
    .filter((d) => typeof d.name === 'string' && typeof d.uuid === 'string')
    .map((d) => ({ name: d.name as string, uuid: d.uuid as string }))
}

/** `wrangler r2 bucket list`: blocks of `name: <bucket>` / `creation_date: ...`. */
export function parseR2BucketList(out: string): string[] {
  return [...out.matchAll(/^\s*name:\s*(\S+)\s*$/gm)].map((m) => m[1]!)
}

/** `wrangler queues list`: a table whose cells hold queue ids, names and counts. */
export function parseQueueList(out: string): string[] {
  const names: string[] = []
  for (const line of out.split('\n')) {
    const cells = line
      .split(/[│|]/)
      .map((c) => c.trim())
      .filter(Boolean)
    // Rows are: id, name, created, modified, producers, consumers.
    if (cells.length >= 2 && /^[0-9a-f]{32}$/.test(cells[0]!)) names.push(cells[1]!)
  }
  return names
}

/** `wrangler r2 bucket notification list <bucket>`: a rule for the queue with object-create events. */
export function hasObjectCreateRule(out: string, queue: string): boolean {
  const blocks = out.split(/\n\s*\n/)
  return blocks.some(
    (b) =>
      new RegExp(`(^|[\\s:])${queue.replace(/[-.]/g, '\\$&')}(\\s|$)`, 'm').test(b) &&
      /object-create|PutObject/i.test(b),
  )
}

/** `wrangler secret list --format json`: [{name, type}]. */
export function parseSecretList(out: string): string[] {
  const start = out.indexOf('[')
  const parsed = JSON.parse(start < 0 ? out : out.slice(start)) as { name?: unknown }[]
  return parsed.map((s) => s.name).filter((n): n is string => typeof n === 'string')
}

/**
 * The wrangler config with `database_id` of the `[[d1_databases]]` block that names `name`
 * replaced by `id` (comments and everything else kept as they are).
 */
export function withDatabaseId(toml: string, name: string, id: string): string {
  const blocks = toml.split(/(?=^\[\[?[^\]]+\]\]?\s*$)/m)
  let hits = 0
  const out = blocks.map((block) => {
    if (!/^\[\[d1_databases\]\]/.test(block)) return block
    if (!new RegExp(`^database_name\\s*=\\s*"${name.replace(/[-.]/g, '\\$&')}"\\s*$`, 'm').test(block))
      return block
    hits++
    if (/^database_id\s*=.*$/m.test(block))
      return block.replace(/^database_id\s*=.*$/m, `database_id = "${id}"`)
    return block.replace(/^(database_name\s*=.*)$/m, `$1\ndatabase_id = "${id}"`)
  })
  if (hits !== 1)
    throw new DeployError(`expected one [[d1_databases]] block named ${name} in the config, found ${hits}`)
  return out.join('')
}

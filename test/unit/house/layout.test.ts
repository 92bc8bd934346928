// House rules that the code's shape depends on: imports point down to core/ only (Biome's
// restricted imports, run here on probe files as CI's lint would), and numbers that two files
// must state alike agree.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { unstable_readConfig } from 'wrangler'
import { EVENTS_QUEUE_MAX_RETRIES } from '../../../core/limits'

// A copy of the project's Biome config in a scratch tree, so probes never land in the source.
const scratch = mkdtempSync(join(tmpdir(), 'house-'))
const config = JSON.parse(readFileSync('biome.json', 'utf8')) as Record<string, unknown>
delete config.$schema
writeFileSync(join(scratch, 'biome.json'), JSON.stringify(config))
const biome = resolve('node_modules/.bin/biome')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function lint(path: string, source: string): string {
  const file = join(scratch, path)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, source)
  const run = spawnSync(biome, ['lint', path], { cwd: scratch, encoding: 'utf8' })
  return `${run.stdout}${run.stderr}`
}

describe('dependencies point down to core/', () => {
  it.each([
    ['core/probe.ts', "import { app } from '../worker/app'", 'core/ must not import worker/'],
    ['core/search/probe.ts', "import { x } from '../../cron/run-jobs'", 'core/ must not import cron/'],
    [
      'worker/probe.ts',
      "import { x } from '../queue-consumer/event-batch'",
      'must not import queue-consumer/',
    ],
    ['worker/routes/probe.ts', "import { x } from '../../cron'", 'worker/ must not import cron/'],
    ['queue-consumer/probe.ts', "import { app } from '../worker/app'", 'must not import worker/'],
    ['cron/probe.ts', "import w from '../index'", "must not import the Worker's entry"],
    [
      'verifier/probe.ts',
      "import { x } from '../queue-consumer/dead-letter'",
      'must not import queue-consumer/',
    ],
  ])('%s: %s is refused', (path, line, message) => {
    expect(lint(path, `${line}\nexport const probe = 1\n`)).toContain(message)
  })

  it('imports of core/ pass', () => {
    const out = lint(
      'worker/probe.ts',
      "import { LIMITS } from '../core/limits'\nexport const probe = LIMITS\n",
    )
    expect(out).not.toContain('noRestrictedImports')
  })
})

describe('one number, one place', () => {
  it("wrangler.toml's retry count for the events queue is the consumer's", () => {
    const config = unstable_readConfig({ config: 'wrangler.toml' })
    const consumer = config.queues.consumers?.find((q: { queue: string }) => q.queue === 'audit-events')
    expect(consumer?.max_retries).toBe(EVENTS_QUEUE_MAX_RETRIES)
  })
})

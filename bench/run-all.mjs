// npm run bench: every benchmark in turn (each prints its own table). Not part of npm test.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const scripts = Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).scripts).filter((s) =>
  s.startsWith('bench:'),
)
let failed = 0
for (const s of scripts) {
  console.log(`\n=== npm run ${s}`)
  const r = spawnSync('npm', ['run', '--silent', s], { stdio: 'inherit' })
  if (r.status !== 0) failed++
}
process.exit(failed ? 1 : 0)

// npm run bench: every benchmark in turn (each prints its own table). Not part of npm test.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
const benches = Object.keys(scripts).filter((s) => s.startsWith('bench:'))

/** The exit status of `npm run <script>` (null when it could not start or a signal ended it). */
function npmRun(script: string): Promise<number | null> {
  return new Promise((resolve) => {
    spawn('npm', ['run', '--silent', script], { stdio: 'inherit' })
      .on('error', () => resolve(null))
      .on('exit', (code) => resolve(code))
  })
}

// Asynchronous, so a signal (Ctrl-C) ends this loop at once instead of starting the next one.
let failed = 0
for (const s of benches) {
  console.log(`\n=== npm run ${s}`)
  if ((await npmRun(s)) !== 0) failed++
}
process.exit(failed ? 1 : 0)

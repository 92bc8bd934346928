// Entry of the `audit-log` command (package.json bin: cli/bin.js runs this file through tsx).
import { main } from './main'

// Not process.exit: stdout may be a pipe still being written.
process.exitCode = await main(process.argv.slice(2))

// What commands print: one JSON object per line with --json, readable text otherwise; progress
// on stderr only when stderr is a terminal.

export function jsonLine(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

export function line(s: string): void {
  process.stdout.write(`${s}\n`)
}

/** An object: one line with --json, indented JSON otherwise. */
export function printObject(o: unknown, json: boolean): void {
  if (json) jsonLine(o)
  else line(JSON.stringify(o, null, 2))
}

export type Progress = { update(text: string): void; done(): void }

/** A one-line progress indicator on stderr, redrawn at most 10 times a second; silent when not a TTY. */
export function progress(): Progress {
  if (!process.stderr.isTTY) return { update() {}, done() {} }
  let last = 0
  let shown = false
  return {
    update(text) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      shown = true
      process.stderr.write(`\r\x1b[K${text}`)
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K')
    },
  }
}

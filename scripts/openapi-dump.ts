// Prints the API's OpenAPI document (GET /openapi.json) without starting a server, or writes it
// to the path given as the first argument.
import { writeFileSync } from 'node:fs'
import { createApp } from '../worker/app'

// The request log would mix with the document on stdout.
const log = console.log
console.log = () => {}
const res = await createApp().request('/openapi.json', {}, {})
console.log = log
if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`)
const text = `${JSON.stringify(await res.json(), null, 2)}\n`
const out = process.argv[2]
if (out) writeFileSync(out, text)
else process.stdout.write(text)

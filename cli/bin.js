#!/usr/bin/env node
// The `audit-log` command: runs cli/index.ts with tsx's loader registered in this process.
import { register } from 'tsx/esm/api'

register()
await import('./index.ts')

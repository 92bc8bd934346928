#!/usr/bin/env -S npx tsx
// The static asset build (wrangler.toml [assets] directory = "dist/assets", gitignored):
// - the admin console (console/src) into console/assets/: one ES module and one stylesheet,
//   minified, no source maps shipped;
// - Swagger UI's standalone bundle and stylesheet (swagger-ui-dist) into docs/assets/ for /docs.
// The Worker runs first on every request (run_worker_first), renders the page shells itself
// (worker/routes/console.ts, docs.ts) and forwards asset paths to the ASSETS binding, so every
// answer carries its Content-Security-Policy. Run by `npm ci` (prepare), `npm start` and the
// console's browser tests; it prints the sizes shipped, gzip included.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export const ASSETS_DIR = resolve('dist/assets')
const out = resolve(ASSETS_DIR, 'console/assets')
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css']

export type ConsoleSizes = { js: number; css: number; js_gzip: number; css_gzip: number }

export async function buildConsole(): Promise<ConsoleSizes> {
  rmSync(ASSETS_DIR, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  mkdirSync(resolve(ASSETS_DIR, 'docs/assets'), { recursive: true })
  for (const f of SWAGGER_FILES) copyFileSync(resolve(swagger, f), resolve(ASSETS_DIR, 'docs/assets', f))
  await build({
    entryPoints: { app: resolve('console/src/main.ts'), style: resolve('console/src/style.css') },
    outdir: out,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const size = (f: string) => {
    const b = readFileSync(resolve(out, f))
    return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length }
  }
  const js = size('app.js')
  const css = size('style.css')
  return { js: js.raw, css: css.raw, js_gzip: js.gzip, css_gzip: css.gzip }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await buildConsole()
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`
  console.log(
    `console built: app.js ${kb(s.js)} (${kb(s.js_gzip)} gzip), style.css ${kb(s.css)} (${kb(s.css_gzip)} gzip)`,
  )
}

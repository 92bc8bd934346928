// The Worker the benchmarks start: the production Worker (index.ts) with the /__bench/* routes
// mounted. Only the benchmarks' server (bench/lib/worker-server) names it as `main`, so the
// production bundle never holds them. With BENCH_COUNT=1 every handler gets an env whose billed
// bindings are counted (./counting-env.ts, read at /__bench/counts).
import type { Env } from '../../core/env'
import worker from '../../index'
import { createApp } from '../../worker/app'
import { countedEnv, countInvocation, countingEnabled } from './counting-env'
import { benchRoutes } from './routes'

const app = createApp((a) => a.route('/', benchRoutes))

export default {
  fetch(req, env, ctx) {
    // The benchmarks' own routes are not what a deployment pays for: they see the plain env.
    if (!countingEnabled(env) || new URL(req.url).pathname.startsWith('/__bench/'))
      return app.fetch(req, env, ctx)
    countInvocation('fetch')
    return app.fetch(req, countedEnv(env), ctx)
  },
  queue(batch, env) {
    if (countingEnabled(env)) countInvocation('queue')
    return worker.queue(batch, countedEnv(env))
  },
  scheduled(controller, env, ctx) {
    if (countingEnabled(env)) countInvocation('scheduled')
    return worker.scheduled(controller, countedEnv(env), ctx)
  },
} satisfies ExportedHandler<Env>

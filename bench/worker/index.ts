// The Worker the benchmarks start: the production Worker (index.ts) with the /__bench/* routes
// mounted. Only the benchmarks' server (bench/lib/worker-server) names it as `main`, so the
// production bundle never holds them.
import worker from '../../index'
import { createApp } from '../../worker/app'
import { benchRoutes } from './routes'

const app = createApp((a) => a.route('/', benchRoutes))

export default { ...worker, fetch: app.fetch } satisfies typeof worker

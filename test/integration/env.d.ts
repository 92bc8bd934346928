// What the test pool adds to the Worker's generated env (worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
  }
}

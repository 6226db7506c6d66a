// Cloudflare Workers entry: env bindings → raw bindings; one broker per isolate.
import { createBroker, type Broker } from '../bootstrap.ts'
import { ConfigError, misconfigured, type RawBindings } from '../config.ts'
import { toProblem } from '../errors.ts'
import { createConsoleLogger } from '../logger.ts'
import { renewLeasesNow } from '../vault/vault-sessions.ts'
import { routeGroupOf } from '../routes/route-group.ts'

type WorkerEnv = Record<string, unknown>

const log = createConsoleLogger()
let cached: { env: WorkerEnv; broker: Promise<Broker> } | undefined

/** wrangler.toml may give BROKER_CONFIG as a table (an object) or as a JSON string secret. */
function toRawBindings(env: WorkerEnv): RawBindings {
  const raw: RawBindings = {}
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') raw[name] = value
    else if (name === 'BROKER_CONFIG' && typeof value === 'object' && value !== null) raw[name] = JSON.stringify(value)
  }
  return raw
}

/**
 * vault.binding / clusters[].binding: a Workers VPC service, an [[mtls_certificates]] binding or
 * a service binding; each is an object whose `fetch` reaches what the binding names.
 */
function bindingFetch(env: WorkerEnv, name: string): typeof fetch | undefined {
  const binding = env[name] as { fetch?: unknown } | undefined
  if (typeof binding !== 'object' || binding === null || typeof binding.fetch !== 'function') return undefined
  const fetcher = binding as { fetch: typeof fetch }
  return (input, init) => fetcher.fetch(input, init)
}

function brokerFor(env: WorkerEnv): Promise<Broker> {
  if (cached?.env !== env) {
    // Cloudflare sets CF-Connecting-IP itself; a client cannot choose it.
    const broker = createBroker(toRawBindings(env), { fetch: (input, init) => fetch(input, init), log, clientAddress: (c) => c.req.header('CF-Connecting-IP'), transport: { binding: (name) => bindingFetch(env, name) } })
    broker.catch((error: unknown) => {
      if (error instanceof ConfigError) log.log('error', 'invalid configuration', { issues: error.issues })
      else log.log('error', 'start-up failed', { error: error instanceof Error ? error.name : typeof error })
    })
    cached = { env, broker }
  }
  return cached.broker
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: unknown): Promise<Response> {
    let broker: Broker
    try {
      broker = await brokerFor(env)
    } catch {
      const requestId = crypto.randomUUID()
      const { problem, headers } = toProblem(misconfigured(), requestId)
      // Every /v1 request has its audit line (docs/audit.md), this one too: nothing else is known.
      const { pathname } = new URL(request.url)
      if (pathname.startsWith('/v1/')) {
        log.log('info', 'audit', { type: 'audit', time: new Date().toISOString(), requestId, method: request.method, route: routeGroupOf(pathname), path: [], cache: 'none', status: 503, code: problem.code })
      }
      return new Response(JSON.stringify(problem), {
        status: 503,
        headers: { ...headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', 'X-Request-Id': requestId, 'X-Content-Type-Options': 'nosniff' },
      })
    }
    return broker.app.fetch(request, env, ctx as never)
  },

  /** The cron trigger in wrangler.toml: renews the leases served recently (SPEC §5). */
  async scheduled(_controller: unknown, env: WorkerEnv, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<void> {
    // Never rejects: the runtime would log an uncaught error with its message and stack. The run
    // logs its own failures, and brokerFor a bad configuration.
    const run = brokerFor(env).then(({ services }) => renewLeasesNow(services), () => undefined)
    ctx.waitUntil(run)
    await run
  },
}

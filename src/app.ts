// createApp(deps) → the whole HTTP API (SPEC §2). No globals: adapters build deps from their
// runtime and tests inject fakes for time and fetch.
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { AppDeps, AppEnv, Services } from './app-env.ts'
import { createAuditSink } from './audit/audit-sink.ts'
import { auditTrail } from './audit/audit-trail.ts'
import { AppError, toProblem } from './errors.ts'
import { createClusterKeys } from './identity/cluster-keys.ts'
import { createAbuseLimits } from './rate-limit/abuse-limits.ts'
import { createVerifiedTokenMemo } from './identity/verified-token-memo.ts'
import { commonHeaders, isAnswer } from './routes/answer.ts'
import { admit } from './routes/admission.ts'
import { bundleRoutes } from './routes/bundle.ts'
import { renderRoutes } from './routes/render.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { openApiRoutes } from './routes/openapi.ts'
import { routeGroupOf } from './routes/route-group.ts'
import { secretRoutes } from './routes/secrets.ts'
import { createSecretBroker } from './secret-broker.ts'
import { createVaultClient } from './vault/vault-client.ts'
import { createVaultSessions } from './vault/vault-sessions.ts'

const KNOWN_GROUPS = new Set(['/v1/secrets', '/v1/bundle', '/v1/render', '/healthz', '/readyz', '/metrics', '/openapi.json'])

export function createServices(deps: AppDeps): Services {
  const vaultFetch = deps.vaultFetch ?? deps.fetch
  const vault = createVaultClient({ ...deps.config.vault, fetch: vaultFetch })
  const { tokens, leases } = createVaultSessions({ config: deps.config, vault, cache: deps.cache, now: deps.now, log: deps.log })
  return {
    ...deps,
    vaultFetch,
    vault,
    tokens,
    leases,
    clusterKeys: createClusterKeys(deps.fetch, deps.cache, { log: deps.log, fetchFor: deps.clusterFetch }),
    verifiedTokens: createVerifiedTokenMemo({ digest: deps.tokenDigest }),
    broker: createSecretBroker({
      config: deps.config,
      vault,
      cache: deps.cache,
      now: deps.now,
      tokens,
      leases,
      // Over CACHE_MAX_ENTRY_BYTES: served, not cached (docs/cache.md); no path or size that could identify it.
      onUncacheable: () => {
        deps.log.log('warn', 'secret too large to cache: served uncached')
        deps.metrics?.count('vault_edge_cache_uncacheable_total')
      },
    }),
    auditSink: deps.config.audit.sink
      ? createAuditSink({ config: deps.config.audit.sink, headerValue: deps.auditSinkHeader, fetch: deps.fetch, log: deps.log, metrics: deps.metrics })
      : undefined,
    limits: createAbuseLimits({ config: deps.config.limits, upstash: deps.upstash, pseudonymFor: deps.cache.pseudonymFor, now: deps.now, log: deps.log, metrics: deps.metrics }),
  }
}

function problemResponse(error: unknown, id: string): Response {
  const { problem, headers } = toProblem(error, id)
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
  })
}

export function createApp(deps: AppDeps | Services): Hono<AppEnv> {
  const services = 'broker' in deps ? deps : createServices(deps)
  const app = new Hono<AppEnv>()

  app.use(async (c, next) => {
    // Our own id for every request, never the client's X-Request-Id: it appears in problem bodies
    // and log lines, where a spoofed one would mislead whoever correlates them.
    c.set('requestId', crypto.randomUUID())
    c.set('services', services)
    await next()
    // A route's answer (routes/answer.ts) carries them already. On any other response: on its own
    // headers, not c.header(): after the handler, c.header() rebuilds the Response, which on
    // @hono/node-server turns the body into a stream (issue 9 profile: ~20% of a hit).
    if (!isAnswer(c.res)) {
      const headers = c.res.headers
      for (const [name, value] of Object.entries(commonHeaders(c.get('requestId')))) headers.set(name, value)
    }
    const group = routeGroupOf(c.req.path)
    services.metrics?.count('vault_edge_http_requests_total', { route: KNOWN_GROUPS.has(group) ? group : 'other', status: String(c.res.status) })
  })

  app.route('/', healthRoutes)
  app.route('/', openApiRoutes)
  if (services.metrics) app.route('/', metricsRoutes)
  // Outermost of /v1: the audit line sees the final answer (a 304, a 429, an error) and the identity.
  // ETags and 304s: only GET /v1/secrets has them, made by the route (routes/answer.ts).
  app.use('/v1/*', auditTrail(problemResponse), admit)
  app.route('/v1/secrets', secretRoutes)
  app.route('/v1/bundle', bundleRoutes)
  app.route('/v1/render', renderRoutes)

  app.notFound((c) => problemResponse(new AppError(404, 'not_found', 'No such endpoint.'), c.get('requestId')))

  app.onError((error, c) => {
    // Hono's own errors (e.g. a malformed body) carry a status; keep 4xx as they are.
    const known =
      error instanceof HTTPException && error.status < 500
        ? new AppError(error.status, 'bad_request', 'The request could not be read.')
        : error
    const id = c.get('requestId')
    if (known instanceof AppError) {
      services.log.log(known.status >= 500 ? 'warn' : 'info', 'request refused', {
        requestId: id,
        status: known.status,
        code: known.code,
        reason: known.logReason,
        path: c.req.path.startsWith('/v1/') ? undefined : c.req.path,
      })
    } else {
      // Only the error's class: messages from libraries can quote values (NOTES: @upstash/redis).
      services.log.log('error', 'unexpected error', { requestId: id, error: error?.name ?? typeof error })
    }
    return problemResponse(known, id)
  })

  return app
}

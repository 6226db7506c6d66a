// The audit trail (docs/audit.md): exactly one `"type":"audit"` line on stdout for every request
// to /v1/*, whatever its outcome, naming the pod the verified token was issued for. Vault's own
// audit log cannot: the broker logs in once per ServiceAccount and role, so every later read of
// any pod of that ServiceAccount shows the first pod's token, and cache hits never reach Vault.
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv, Services } from '../app-env.ts'
import { AppError } from '../errors.ts'
import { headerOf } from '../routes/answer.ts'
import { formatOf } from '../routes/format-of.ts'
import { routeGroupOf } from '../routes/route-group.ts'
import { SECRETS_PREFIX } from '../routes/secrets.ts'
import { secretPathFromUrl } from '../routes/secret-request.ts'
import { createAuditRecord, type AuditCache, type AuditRecord } from './audit-record.ts'
import { isoTime } from './iso-time.ts'

export interface AuditEvent {
  type: 'audit'
  time: string
  requestId: string
  method: string
  route: string
  client?: string
  cluster?: string
  namespace?: string
  serviceAccount?: string
  pod?: string
  podUid?: string
  node?: string
  path: string[]
  role?: string
  format?: string
  cache: AuditCache
  status: number
  code?: string
  reads?: { path: string; cache: AuditCache; vaultRequestId?: string; leaseId?: string }[]
}

const CACHE_STATES = new Set<AuditCache>(['hit', 'miss', 'stale'])

/** The format the request asked for (the routes negotiate the same way); none when it named an unknown one. */
function requestedFormat(c: Context<AppEnv>, route: string): string | undefined {
  if (route === '/v1/render') return 'template'
  try {
    return formatOf(c)
  } catch {
    return undefined
  }
}

/** A refused request never reached the route: the path it asked for, from the URL, when it is a valid one. */
function pathsOf(c: Context<AppEnv>, record: AuditRecord, route: string): string[] {
  if (record.paths.length > 0 || route !== '/v1/secrets') return record.paths
  try {
    return [secretPathFromUrl(c.req.url, SECRETS_PREFIX)]
  } catch {
    return []
  }
}

async function problemCode(response: Response): Promise<string | undefined> {
  if (!(response.headers.get('Content-Type') ?? '').startsWith('application/problem+json')) return undefined
  try {
    const { code } = (await response.clone().json()) as { code?: unknown }
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}

/** The event up to its status; a refusal's problem code and the reads follow (below). */
function describeRequest(c: Context<AppEnv>, services: Services, record: AuditRecord, startedAtMs: number): AuditEvent {
  const route = routeGroupOf(c.req.path)
  const identity = c.get('identity')
  const status = c.res.status
  const xCache = headerOf(c.res, 'X-Cache') as AuditCache | null
  // Built field by field in the line's order, without spreads: this runs on every /v1 request (issue 9).
  const event = { type: 'audit', time: isoTime(startedAtMs), requestId: c.get('requestId'), method: c.req.method, route } as AuditEvent
  const client = services.clientAddress?.(c)
  if (client) event.client = client
  if (identity) {
    event.cluster = identity.cluster
    event.namespace = identity.namespace
    event.serviceAccount = identity.serviceAccount
    if (identity.pod) event.pod = identity.pod
    if (identity.podUid) event.podUid = identity.podUid
    if (identity.node) event.node = identity.node
  }
  event.path = pathsOf(c, record, route)
  if (record.role) event.role = record.role
  const format = requestedFormat(c, route)
  if (format) event.format = format
  // What the response's X-Cache says (a 304 keeps it); `none` when no secret was served.
  event.cache = xCache && CACHE_STATES.has(xCache) ? xCache : 'none'
  event.status = status
  return event
}

/**
 * The whole event. Only a refusal (its problem code) and a leased secret (its lease's pseudonym)
 * wait for anything: a served secret's event is complete without an await (issue 9: every /v1
 * request builds one).
 */
function buildEvent(c: Context<AppEnv>, services: Services, record: AuditRecord, startedAtMs: number): AuditEvent | Promise<AuditEvent> {
  const event = describeRequest(c, services, record, startedAtMs)
  if (event.status < 400 && !record.reads.some((read) => read.leaseId)) {
    if (record.reads.length > 0) event.reads = record.reads
    return event
  }
  return addCodeAndReads(event, c.res, services, record)
}

async function addCodeAndReads(event: AuditEvent, response: Response, services: Services, record: AuditRecord): Promise<AuditEvent> {
  const code = event.status >= 400 ? await problemCode(response) : undefined
  if (code) event.code = code
  if (record.reads.length > 0) {
    // Lease ids leave the process only as pseudonyms (seal.ts).
    event.reads = await Promise.all(
      record.reads.map(async ({ leaseId, ...read }) => (leaseId ? { ...read, leaseId: await services.cache.pseudonymFor('lease', leaseId) } : read)),
    )
  }
  return event
}

/** Workers end a request's work with its response unless told to wait; Node and Deno have no executionCtx. */
function keepRunning(c: Context<AppEnv>, delivery: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(delivery)
  } catch {
    // Node and Deno: the delivery runs on by itself.
  }
}

export const auditUnavailable = () =>
  new AppError(503, 'audit_unavailable', 'The audit trail cannot record this request; try again later.', {
    headers: { 'Retry-After': '5' },
    logReason: 'audit.required and the audit sink did not accept the event',
  })

/**
 * `problem` builds the app's problem+json response (app.ts), used when audit.required turns an
 * answer that could not be recorded into a 503.
 */
export function auditTrail(problem: (error: AppError, requestId: string) => Response): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.get('services')
    const startedAtMs = services.now()
    const record = createAuditRecord()
    c.set('audit', record)
    await next()
    const built = buildEvent(c, services, record, startedAtMs)
    // (An await of a value that is not a promise still costs a turn of the microtask queue.)
    let event = built instanceof Promise ? await built : built
    const sink = services.auditSink
    if (sink && services.config.audit.required) {
      // Vault's audit-device rule: nothing is answered that the trail could not record.
      if (!(await sink.send(event))) {
        const error = auditUnavailable()
        services.log.log('warn', 'request refused', { requestId: event.requestId, status: error.status, code: error.code, reason: error.logReason })
        // Unset first: Hono copies the old response's headers (ETag, X-Cache, lease times) onto a new one.
        c.res = undefined
        c.res = problem(error, event.requestId)
        event = { ...event, status: error.status, code: error.code, cache: 'none' }
        keepRunning(c, sink.send(event))
      }
    } else if (sink) {
      keepRunning(c, sink.send(event))
    }
    services.log.log('info', 'audit', event as unknown as Record<string, unknown>)
  }
}

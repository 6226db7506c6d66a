// The broker's abuse limits (docs/audit.md), checked by routes/admission.ts: failed
// authentications per client address (on by default), and requests per identity (off by
// default). Both answer 429 problem+json with Retry-After.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { AppError } from '../errors.ts'
import { identityScope } from '../identity/identity.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { createAbuseLimit, type AbuseLimit } from './abuse-limit.ts'
import type { LimitsConfig } from './limits-config.ts'
import { createMemoryWindowLimiter, createRedisWindowLimiter, type WindowOptions } from './window-limiter.ts'

export interface AbuseLimits {
  failedAuth?: AbuseLimit
  reads?: AbuseLimit
}

export function createAbuseLimits(deps: {
  config: LimitsConfig
  /** Redis shared by every process (the cache's); in memory without it. */
  upstash?: { url: string; token: string }
  pseudonymFor: (purpose: 'rate-limit', material: string) => Promise<string>
  now: () => number
  log: Logger
  metrics?: Metrics
}): AbuseLimits {
  const build = (window: WindowOptions, detail: string) =>
    createAbuseLimit({
      limiter: deps.upstash ? createRedisWindowLimiter(deps.upstash, window, deps.log) : createMemoryWindowLimiter(window, deps.now),
      now: deps.now,
      pseudonym: (id) => deps.pseudonymFor('rate-limit', `${window.name}\n${id}`),
      refusal: (retryAfterSeconds) =>
        new AppError(429, 'rate_limited', `${detail} Retry after ${retryAfterSeconds} s.`, {
          headers: { 'Retry-After': String(retryAfterSeconds) },
          logReason: `abuse limit ${window.name}`,
        }),
      onRefused: () => deps.metrics?.count('vault_edge_rate_limited_total', { limit: window.name }),
    })
  const { failedAuth, reads } = deps.config
  return {
    failedAuth: failedAuth
      ? build({ name: 'failed_auth', limit: failedAuth.perAddress, windowSeconds: failedAuth.windowSeconds }, 'Too many failed authentications from this address.')
      : undefined,
    reads: reads ? build({ name: 'reads', limit: reads.perIdentity, windowSeconds: reads.windowSeconds }, 'Too many requests for this service account.') : undefined,
  }
}

/**
 * Before authentication: an address over its limit gets 429 whatever token it sends (thrown
 * here). Returns how to count a 401 against the address, or undefined when nothing is counted
 * (the limit is off, or no adapter gave a client address).
 */
export function checkFailedAuthentications(c: Context<AppEnv>): (() => Promise<void>) | undefined {
  const { limits, clientAddress } = c.get('services')
  const { failedAuth } = limits
  const address = failedAuth ? clientAddress?.(c) : undefined
  if (!failedAuth || !address) return undefined
  failedAuth.check(address)
  return () => failedAuth.count(address, false)
}

/** After authentication: one hit per request for the caller's ServiceAccount (all its pods); throws the 429. */
export function limitReads(c: Context<AppEnv>): void | Promise<void> {
  const { reads } = c.get('services').limits
  if (!reads) return
  const id = identityScope(c.get('identity'))
  reads.check(id)
  return reads.count(id, true)
}

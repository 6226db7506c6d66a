// X-Refresh-After: when a client that polls (k8s/scripts/vault-edge-exec.sh, client/'s
// `watch`) should ask again, in seconds. Until the served entry's freshness ends the broker
// would answer from its cache, so asking earlier cannot show a change in Vault; right after,
// one request per ServiceAccount and path reads Vault again and every other poller is served
// from the cache. A leased secret is asked for again well within `leaseRenewal.idleSeconds`
// too: each poll (a 304 included) marks its lease as served, so the renewal job keeps it alive.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { SecretResult } from '../secret-broker.ts'

/** A stale entry means Vault is failing: ask again after this long, not at once. */
export const STALE_REFRESH_AFTER_SECONDS = 10

export function refreshAfterSeconds(result: Pick<SecretResult, 'cache' | 'freshUntilMs' | 'leaseExpiresAtMs'>, nowMs: number, idleSeconds: number): number {
  if (result.cache === 'stale') return STALE_REFRESH_AFTER_SECONDS
  let seconds = Math.ceil((result.freshUntilMs - nowMs) / 1000)
  if (result.leaseExpiresAtMs !== undefined) seconds = Math.min(seconds, Math.floor(idleSeconds / 2))
  return Math.max(1, seconds)
}

/** The header's value for a response built from one or several reads: the earliest of them. */
export function refreshAfterHeader(c: Context<AppEnv>, results: readonly SecretResult[]): string | undefined {
  const { now, config } = c.get('services')
  const seconds = Math.min(...results.map((result) => refreshAfterSeconds(result, now(), config.vault.leaseRenewal.idleSeconds)))
  return Number.isFinite(seconds) ? String(seconds) : undefined
}

/** Sets it with c.header() (the routes that answer through Hono's context). */
export function setRefreshAfter(c: Context<AppEnv>, results: readonly SecretResult[]): void {
  const value = refreshAfterHeader(c, results)
  if (value !== undefined) c.header('X-Refresh-After', value)
}

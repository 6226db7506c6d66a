// The scheduled job of SPEC §5: renew the leases of dynamic secrets that were served recently
// (`PUT sys/leases/renew`, allowed by Vault's default policy), keep the pod tokens that hold
// them alive (a lease dies with the token that created it), and let idle ones expire. Run by a
// Workers cron trigger (adapters/worker.ts `scheduled`) or a timer on Node and Deno.
//
// A renewal also extends the cached entry that serves the secret, so clients keep getting the
// same credentials and an accurate X-Vault-Lease-Expires; a lease Vault no longer knows
// (revoked, expired, its token gone) drops that entry, so the next request reads fresh ones.
import type { Config } from '../config.ts'
import type { SecureCache } from '../cache/secure-cache.ts'
import { AppError } from '../errors.ts'
import type { CachedRead } from '../secret-broker.ts'
import type { LeaseRecord, LeaseRegistry } from './lease-registry.ts'
import type { TokenParts, TokenSource } from './token-source.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultSecret } from './vault-types.ts'

/** Stop serving a leased secret this long before Vault ends it (a fifth of short leases). */
export const LEASE_MARGIN_SECONDS = 10
export const leaseMarginSeconds = (durationSeconds: number) => Math.min(LEASE_MARGIN_SECONDS, durationSeconds / 5)
/** Leases renewed at once; each renewal is one Vault request (plus a token renewal at times). */
const RENEW_CONCURRENCY = 8

export type LeaseRenewalConfig = Config['vault']['leaseRenewal']

export interface RenewalReport {
  /** Leases Vault extended. */
  renewed: number
  /** Not served for `idleSeconds`: no longer renewed. */
  idle: number
  /** Revoked, expired, or their token is gone: dropped. */
  gone: number
  /** Vault failed (sealed, unreachable): tried again next run. */
  failed: number
  /** Not due yet, or not renewable. */
  waiting: number
  /** Another process ran the job this interval. */
  skipped: boolean
}

export interface LeaseRenewerDeps {
  vault: VaultClient
  cache: SecureCache
  tokens: TokenSource
  leases: LeaseRegistry
  now: () => number
  config: LeaseRenewalConfig
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void
}

/**
 * Renew when the lease would otherwise end before two more runs (plus the serving margin), or
 * when a third of it is left, whichever comes first.
 */
export function renewalHorizonSeconds(durationSeconds: number, intervalSeconds: number): number {
  return Math.max(durationSeconds / 3, leaseMarginSeconds(durationSeconds) + 2 * intervalSeconds)
}

/** Vault's answers that mean the lease (or the token that renews it) no longer exists. */
const isGone = (error: unknown) => error instanceof AppError && [400, 403, 404].includes(error.status)

export async function renewServedLeases(deps: LeaseRenewerDeps): Promise<RenewalReport> {
  const { vault, cache, tokens, leases, now, config } = deps
  const log = deps.log ?? (() => {})
  const report: RenewalReport = { renewed: 0, idle: 0, gone: 0, failed: 0, waiting: 0, skipped: false }

  // One run per interval across processes sharing the cache (Node replicas on one Redis).
  const lockSeconds = Math.floor(config.intervalSeconds / 2)
  if (lockSeconds >= 1 && (await cache.claim('lock', ['lease-renewal'], { atMs: now() }, lockSeconds)) === 'held') {
    return { ...report, skipped: true }
  }

  const records = await leases.records()
  const forget: string[] = []

  async function dropServedEntry(record: LeaseRecord): Promise<void> {
    const entry = await cache.get<CachedRead>('secret', record.secretParts)
    if (entry?.read.secret.lease_id === record.leaseId) await cache.delete('secret', record.secretParts)
  }

  async function extendServedEntry(record: LeaseRecord, durationSeconds: number, expiresAtMs: number): Promise<void> {
    const entry = await cache.get<CachedRead>('secret', record.secretParts)
    if (entry?.read.secret.lease_id !== record.leaseId) return
    const secret: VaultSecret = { ...entry.read.secret, lease_duration: durationSeconds }
    const extended: CachedRead = {
      ...entry,
      read: { ...entry.read, secret },
      freshUntilMs: expiresAtMs - leaseMarginSeconds(durationSeconds) * 1000,
      leaseExpiresAtMs: expiresAtMs,
    }
    await cache.set('secret', record.secretParts, extended, (expiresAtMs - now()) / 1000)
  }

  async function handle(record: LeaseRecord): Promise<void> {
    const nowMs = now()
    if (record.expiresAtMs <= nowMs) {
      report.gone++
      forget.push(record.leaseId)
      return
    }
    if (nowMs - record.lastServedAtMs > config.idleSeconds * 1000) {
      report.idle++
      forget.push(record.leaseId)
      log('info', 'lease idle: left to expire', { leaseExpires: new Date(record.expiresAtMs).toISOString() })
      return
    }
    const horizonSeconds = renewalHorizonSeconds(record.leaseDurationSeconds, config.intervalSeconds)
    if (!record.renewable || record.expiresAtMs - nowMs > horizonSeconds * 1000) {
      report.waiting++
      return
    }
    const parts: TokenParts = [record.identityScope, record.authMount, record.role]
    try {
      // The token must outlive the lease's next term, or Vault revokes the lease with it.
      const token = await tokens.keepAlive(parts, record.leaseDurationSeconds + 2 * config.intervalSeconds)
      if (!token) {
        report.gone++
        forget.push(record.leaseId)
        log('warn', 'lease not renewed: no Vault token for its identity any more')
        return
      }
      const renewed = await vault<VaultSecret>('PUT', 'sys/leases/renew', {
        token: token.token,
        body: { lease_id: record.leaseId, increment: record.leaseDurationSeconds },
      })
      if (!(renewed?.lease_duration > 0)) throw new AppError(400, 'vault_bad_request', 'Vault renewed the lease for no time.')
      const expiresAtMs = now() + renewed.lease_duration * 1000
      await leases.save({ ...record, expiresAtMs })
      await extendServedEntry(record, renewed.lease_duration, expiresAtMs)
      report.renewed++
    } catch (error) {
      if (isGone(error)) {
        report.gone++
        forget.push(record.leaseId)
        await dropServedEntry(record)
        log('warn', 'lease gone at Vault: cached secret dropped', { status: (error as AppError).status })
      } else {
        report.failed++
        log('warn', 'lease renewal failed; retrying next run', { code: error instanceof AppError ? error.code : 'internal' })
      }
    }
  }

  for (let index = 0; index < records.length; index += RENEW_CONCURRENCY) {
    await Promise.all(records.slice(index, index + RENEW_CONCURRENCY).map(handle))
  }
  await leases.forget(forget)
  return report
}

/**
 * The Node and Deno timer: runs the job every `intervalSeconds`, one run at a time. Returns a
 * function that stops it. The timer does not keep a process alive on its own.
 */
export function startLeaseRenewal(deps: LeaseRenewerDeps, onReport: (report: RenewalReport) => void = () => {}): () => void {
  let running = false
  const timer = setInterval(async () => {
    if (running) return
    running = true
    try {
      onReport(await renewServedLeases(deps))
    } catch (error) {
      deps.log?.('warn', 'lease renewal run failed', { error: error instanceof Error ? error.name : typeof error })
    } finally {
      running = false
    }
  }, deps.config.intervalSeconds * 1000)
  // Node: unref so the timer alone does not hold the process open; Deno's setInterval returns a number.
  ;(timer as { unref?: () => void }).unref?.()
  return () => clearInterval(timer)
}

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
import type { StoredRead } from '../secret-broker.ts'
import type { LeaseRecord, LeaseRegistry, LeaseToken } from './lease-registry.ts'
import { leaseTokenOf, type TokenParts, type TokenSource } from './token-source.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultLogin, VaultSecret } from './vault-types.ts'

/** Stop serving a leased secret this long before Vault ends it (a fifth of short leases). */
export const LEASE_MARGIN_SECONDS = 10
export const leaseMarginSeconds = (durationSeconds: number) => Math.min(LEASE_MARGIN_SECONDS, durationSeconds / 5)

/**
 * When a leased secret read (or renewed) at `startedAtMs` for `durationSeconds` stops working,
 * and until when it is served as fresh. A lease also ends with the Vault token that holds it
 * (Vault revokes a token's leases when it expires), so the earlier of the two ends counts.
 */
export function leasedEntryTimes(startedAtMs: number, durationSeconds: number, tokenExpiresAtMs = Infinity) {
  const leaseExpiresAtMs = Math.min(startedAtMs + durationSeconds * 1000, tokenExpiresAtMs)
  const freshUntilMs = leaseExpiresAtMs - leaseMarginSeconds((leaseExpiresAtMs - startedAtMs) / 1000) * 1000
  return { freshUntilMs, leaseExpiresAtMs }
}

/** Leases renewed at once; each renewal is one Vault request (plus a token renewal at times). */
const RENEW_CONCURRENCY = 8

export type LeaseRenewalConfig = Config['vault']['leaseRenewal']

export interface RenewalReport {
  /** Leases Vault extended. */
  renewed: number
  /** Not served for `idleSeconds`: no longer renewed. */
  idle: number
  /** Revoked, expired, their token gone, or their identity may no longer read them: dropped. */
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

/**
 * Whether `token` may still read `path` (`sys/capabilities-self`, in Vault's default policy).
 * Undefined when Vault will not say: a role without the default policy, or a revoked token
 * (which the lease renewal itself then finds out).
 */
async function mayRead(vault: VaultClient, token: string, path: string): Promise<boolean | undefined> {
  let answer: { data?: Record<string, unknown> } | undefined
  try {
    answer = await vault('POST', 'sys/capabilities-self', { token, body: { paths: [path] } })
  } catch (error) {
    // Vault will not say (403, or an answer to a request it does not know); unreachable,
    // sealed or rate limiting throws, and the run tries again.
    if (error instanceof AppError && [400, 403, 404, 405].includes(error.status)) return undefined
    throw error
  }
  const capabilities = answer?.data?.[path]
  if (!Array.isArray(capabilities)) return undefined
  return !capabilities.includes('deny') && (capabilities.includes('read') || capabilities.includes('root'))
}

export async function renewServedLeases(deps: LeaseRenewerDeps): Promise<RenewalReport> {
  const { vault, cache, tokens, leases, now, config } = deps
  const log = deps.log ?? (() => {})
  const report: RenewalReport = { renewed: 0, idle: 0, gone: 0, failed: 0, waiting: 0, skipped: false }

  // One run per interval across processes sharing the cache (Node replicas on one Redis).
  const lockSeconds = Math.floor(config.intervalSeconds / 2)
  if (lockSeconds >= 1 && (await cache.claim('lock', ['lease-renewal'], { atMs: now() }, lockSeconds)).result === 'held') {
    return { ...report, skipped: true }
  }

  const records = await leases.records()
  const forget: string[] = []

  async function dropServedEntry(record: LeaseRecord): Promise<void> {
    const entry = await cache.get<StoredRead>('secret', record.secretParts, { shared: true })
    if (entry?.secret?.lease_id === record.leaseId) await cache.delete('secret', record.secretParts)
  }

  async function extendServedEntry(record: LeaseRecord, durationSeconds: number, times: ReturnType<typeof leasedEntryTimes>, leaseToken: LeaseToken): Promise<void> {
    // Compare-and-set: a request that dropped the entry (Vault denied its identity) or replaced it
    // between this read and this write wins; the renewal never brings a dropped entry back.
    await cache.update<StoredRead>('secret', record.secretParts, (entry) => {
      if (entry.secret?.lease_id !== record.leaseId) return undefined
      const secret: VaultSecret = { ...entry.secret, lease_duration: durationSeconds }
      return { value: { ...entry, secret, ...times, leaseToken }, ttlSeconds: (times.leaseExpiresAtMs - now()) / 1000 }
    })
  }

  /**
   * The end the lease's own token allows: `token`'s, when it is that token (just kept alive);
   * else the last end known of the token that read it (replaced since, e.g. past its max TTL).
   */
  function holdingToken(record: LeaseRecord, token: VaultLogin): LeaseToken {
    if (token.accessor !== '' && token.accessor === record.token?.accessor) return leaseTokenOf(token)
    return record.token ?? { accessor: '', expiresAtMs: record.expiresAtMs }
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
        // Revoked (renew-self said 403), at its end, or evicted: the first two took the lease
        // with them, and the pod's JWT that could log in again is not kept.
        report.gone++
        forget.push(record.leaseId)
        await dropServedEntry(record)
        log('warn', 'lease not renewed: no Vault token for its identity any more; cached secret dropped')
        return
      }
      // Renewing extends what the identity is served past what Vault granted it: Vault, not the
      // cache, decides whether it still may have it.
      if (record.path && (await mayRead(vault, token.token, record.path)) === false) {
        report.gone++
        forget.push(record.leaseId)
        await dropServedEntry(record)
        log('warn', 'lease not renewed: its identity may no longer read the path; cached secret dropped')
        return
      }
      const startedAtMs = now()
      const renewed = await vault<VaultSecret>('PUT', 'sys/leases/renew', {
        token: token.token,
        body: { lease_id: record.leaseId, increment: record.leaseDurationSeconds },
      })
      if (!(renewed?.lease_duration > 0)) throw new AppError(400, 'vault_bad_request', 'Vault renewed the lease for no time.')
      const leaseToken = holdingToken(record, token)
      const times = leasedEntryTimes(startedAtMs, renewed.lease_duration, leaseToken.expiresAtMs)
      await leases.save({ ...record, expiresAtMs: times.leaseExpiresAtMs, token: leaseToken })
      await extendServedEntry(record, renewed.lease_duration, times, leaseToken)
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
 * One run of the job, which never throws: the report is logged when the run did something, and
 * a failure by the error's class only (a message or a stack could quote what must not be logged).
 */
export async function runLeaseRenewal(deps: LeaseRenewerDeps): Promise<RenewalReport | undefined> {
  try {
    const report = await renewServedLeases(deps)
    if (report.renewed + report.idle + report.gone + report.failed > 0) deps.log?.('info', 'lease renewal', { ...report })
    return report
  } catch (error) {
    deps.log?.('warn', 'lease renewal run failed', { error: error instanceof Error ? error.name : typeof error })
    return undefined
  }
}

/**
 * The Node and Deno timer: runs the job every `intervalSeconds`, one run at a time. Returns a
 * function that stops it. The timer does not keep a process alive on its own.
 */
export function startLeaseRenewal(deps: LeaseRenewerDeps): () => void {
  let running = false
  const timer = setInterval(async () => {
    if (running) return
    running = true
    await runLeaseRenewal(deps)
    running = false
  }, deps.config.intervalSeconds * 1000)
  // Node: unref so the timer alone does not hold the process open; Deno's setInterval returns a number.
  ;(timer as { unref?: () => void }).unref?.()
  return () => clearInterval(timer)
}

// Steps (3) and (4) of SPEC §1: cache lookup scoped to the identity, and on a miss a Vault login
// with the pod's own token (token cached per identity and role) and the read.
import type { Config } from './config.ts'
import { AppError } from './errors.ts'
import { identityScope, type Identity } from './identity/identity.ts'
import { NO_CLAIM, type SecureCache } from './cache/secure-cache.ts'
import { servedLeaseOf, type LeaseRegistry, type LeaseToken } from './vault/lease-registry.ts'
import { leasedEntryTimes } from './vault/lease-renewer.ts'
import { readSecret, type SecretRead } from './vault/read-secret.ts'
import { leaseTokenOf, type TokenSource } from './vault/token-source.ts'
import type { VaultClient } from './vault/vault-client.ts'

export interface SecretRequest {
  identity: Identity
  /** The pod's ServiceAccount token, already verified. */
  jwt: string
  role: string
  authMount: string
  path: string
  version?: number
  kvTtlSeconds: number
  /** `Cache-Control: no-cache`: skip the cached read (the Vault token may still be reused). */
  refresh?: boolean
}

export interface CachedRead {
  read: SecretRead
  /** When the broker stops serving it as fresh (ms since epoch). */
  freshUntilMs: number
  /**
   * When a leased secret stops working (ms since epoch): its lease's end, or the end of the Vault
   * token that holds the lease if that comes first (Vault revokes a token's leases with it).
   */
  leaseExpiresAtMs: number | undefined
  /** That Vault token, for leased secrets: only it keeps the lease alive (lease-renewer.ts). */
  leaseToken?: LeaseToken
}

export interface SecretResult extends CachedRead {
  cache: 'hit' | 'miss' | 'stale'
}

export interface SecretBroker {
  getSecret(request: SecretRequest): Promise<SecretResult>
}

// Vault failures during which an expired entry may still be served (SPEC §5): rate limited,
// erroring, sealed or unreachable, timed out.
const STALE_OK_STATUSES = new Set([429, 502, 503, 504])
// Vault answers after which the identity's entry is dropped: access revoked, secret deleted.
const VAULT_GONE_STATUSES = new Set([403, 404])
/** `Cache-Control: no-cache` refreshes of one entry by one identity: one per interval (SPEC §2). */
export const REFRESH_INTERVAL_SECONDS = 10
const FILL_POLL_FIRST_MS = 25
const FILL_POLL_MAX_MS = 250
/** Time for a Redis call on each side of the Vault calls, on top of Vault's own timeouts. */
const FILL_REDIS_ALLOWANCE_MS = 2000

export function createSecretBroker(deps: {
  config: Config
  vault: VaultClient
  cache: SecureCache
  now: () => number
  /** Pod tokens: cached, renewed, one fresh login after a 403 (src/vault/token-source.ts). */
  tokens: TokenSource
  /** Where served leases are noted for the renewal job (src/vault/lease-registry.ts). */
  leases: LeaseRegistry
}): SecretBroker {
  const { cache, vault, now, tokens, leases } = deps
  const inFlight = new Map<string, Promise<SecretResult>>()
  // A fill is a login and a read; its lock lives that long, and waiters wait no longer.
  const fillWaitMs = Math.ceil((2 * deps.config.vault.timeoutMs + FILL_REDIS_ALLOWANCE_MS) / 1000) * 1000

  async function readFromVault(request: SecretRequest): Promise<CachedRead> {
    // Cached pod token, renewed when due; a 403 on a cached one → one fresh login (token-source.ts).
    const { read, token, startedAtMs } = await tokens.withToken(request, async (token) => {
      // Vault starts the lease while answering: time it from the request, not from the answer.
      const startedAtMs = now()
      return { read: await readSecret(vault, { token: token.token, path: request.path, version: request.version }), token, startedAtMs }
    })
    const leased = read.secret.lease_duration > 0 && read.secret.lease_id !== ''
    if (!leased) return { read, freshUntilMs: startedAtMs + request.kvTtlSeconds * 1000, leaseExpiresAtMs: undefined }
    const leaseToken = leaseTokenOf(token)
    return { read, ...leasedEntryTimes(startedAtMs, read.secret.lease_duration, leaseToken.expiresAtMs), leaseToken }
  }

  const isFresh = (entry: CachedRead) => entry.freshUntilMs > now()
  // An expired entry stays usable while Vault fails, up to maxStaleSeconds and never past a lease's end.
  const isUsableStale = (entry: CachedRead) =>
    entry.freshUntilMs + deps.config.cache.maxStaleSeconds * 1000 > now() && (entry.leaseExpiresAtMs ?? Infinity) > now()

  async function readAndStore(request: SecretRequest, parts: string[]): Promise<CachedRead> {
    const fresh = await readFromVault(request)
    // Keep the entry past its freshness for stale serving, but never past a lease's end.
    const keepMs = fresh.leaseExpiresAtMs ?? fresh.freshUntilMs + deps.config.cache.maxStaleSeconds * 1000
    await cache.set('secret', parts, fresh, (keepMs - now()) / 1000)
    return fresh
  }

  /** `Cache-Control: no-cache` goes to Vault at most once per REFRESH_INTERVAL_SECONDS per identity and entry, across processes. */
  async function claimRefresh(parts: string[]): Promise<void> {
    const claimed = await cache.claim('refresh', parts, { atMs: now() }, REFRESH_INTERVAL_SECONDS)
    if (claimed.result !== 'held') return // 'unavailable': without a cache every request goes to Vault anyway
    const last = await cache.get<{ atMs: number }>('refresh', parts)
    const waitSeconds = last ? Math.ceil((last.atMs + REFRESH_INTERVAL_SECONDS * 1000 - now()) / 1000) : REFRESH_INTERVAL_SECONDS
    throw new AppError(429, 'rate_limited', `This secret was refreshed from Vault for this service account less than ${REFRESH_INTERVAL_SECONDS} s ago.`, {
      headers: { 'Retry-After': String(Math.min(REFRESH_INTERVAL_SECONDS, Math.max(1, waitSeconds))) },
      logReason: 'no-cache refresh rate limited',
    })
  }

  /**
   * Another process holds the entry's fill lock: poll until its entry is fresh, the lock is gone
   * (the holder gave up) or FILL_WAIT_MS of sleeping passed. Returns the latest entry seen.
   */
  async function waitForFill(parts: string[]): Promise<{ fresh: boolean; entry: CachedRead | undefined }> {
    let entry: CachedRead | undefined
    for (let slept = 0, pause = FILL_POLL_FIRST_MS; slept < fillWaitMs; slept += pause, pause = Math.min(pause * 1.5, FILL_POLL_MAX_MS)) {
      await new Promise((resolve) => setTimeout(resolve, pause))
      // The lock first, then the entry: a holder drops the entry (Vault said 403 or 404) before it
      // releases the lock, so an entry read after the lock is gone is never one it dropped.
      const lock = await cache.get('lock', parts)
      entry = await cache.get<CachedRead>('secret', parts)
      if (entry && isFresh(entry)) return { fresh: true, entry }
      if (lock === undefined) break
    }
    return { fresh: false, entry }
  }

  async function resolve(request: SecretRequest, parts: string[]): Promise<SecretResult> {
    let cached = await cache.get<CachedRead>('secret', parts)
    if (cached && !request.refresh && isFresh(cached)) return { ...cached, cache: 'hit' }
    if (request.refresh) await claimRefresh(parts)
    // Across processes, one fill per entry: a short lock in the cache (SET NX EX); the others wait for its entry.
    const lock = request.refresh ? NO_CLAIM : await cache.claim('lock', parts, { atMs: now() }, fillWaitMs / 1000)
    if (lock.result === 'held') {
      const waited = await waitForFill(parts)
      if (waited.fresh) return { ...waited.entry!, cache: 'hit' }
      // The holder gave up or is stuck: it met a Vault failure we would meet too, so a usable
      // stale entry is served now; without one we ask Vault ourselves, for our own answer.
      cached = waited.entry
      if (cached && isUsableStale(cached)) return { ...cached, cache: 'stale' }
    }
    try {
      if (lock.result === 'acquired') {
        // Another process may have filled it between our first look and the claim.
        const again = await cache.get<CachedRead>('secret', parts)
        if (again && isFresh(again)) return { ...again, cache: 'hit' }
      }
      return { ...(await readAndStore(request, parts)), cache: 'miss' }
    } catch (error) {
      if (!(error instanceof AppError)) throw error
      // Vault has the final word: a denied or deleted secret is not served again, stale or not.
      if (VAULT_GONE_STATUSES.has(error.status)) await cache.delete('secret', parts)
      else if (cached && isUsableStale(cached) && STALE_OK_STATUSES.has(error.status)) return { ...cached, cache: 'stale' }
      throw error
    } finally {
      await lock.release()
    }
  }

  return {
    getSecret(request) {
      const parts = [identityScope(request.identity), request.authMount, request.role, request.path, String(request.version ?? '')]
      const flightKey = JSON.stringify(parts) + (request.refresh ? ' refresh' : '')
      // Concurrent misses for one entry inside this isolate share one Vault call; `miss` is
      // reported to the request that made it, the others were served what it cached.
      let pending = inFlight.get(flightKey)
      if (pending) pending = pending.then((result) => (result.cache === 'miss' ? { ...result, cache: 'hit' } : result))
      else {
        pending = resolve(request, parts).finally(() => inFlight.delete(flightKey))
        inFlight.set(flightKey, pending)
      }
      // Served leases are renewed by the scheduled job while in use (src/vault/lease-registry.ts).
      return pending.then(async (result) => {
        await leases.noteServed(servedLeaseOf(request, parts, result))
        return result
      })
    },
  }
}

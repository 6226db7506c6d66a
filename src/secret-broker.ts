// Steps (3) and (4) of SPEC §1: cache lookup scoped to the identity, and on a miss a Vault login
// with the pod's own token (token cached per identity and role) and the read.
import type { Config } from './config.ts'
import { AppError } from './errors.ts'
import { identityScope, type Identity } from './identity/identity.ts'
import { LOCAL_RECHECK_MS, NO_CLAIM, type Claim, type SecureCache } from './cache/secure-cache.ts'
import { servedLeaseOf, type LeaseRegistry, type LeaseToken } from './vault/lease-registry.ts'
import { leasedEntryTimes } from './vault/lease-renewer.ts'
import { readSecret, unwrapSecret, type SecretRead } from './vault/read-secret.ts'
import { leaseTokenOf, type TokenSource } from './vault/token-source.ts'
import type { VaultClient } from './vault/vault-client.ts'
import type { VaultSecret } from './vault/vault-types.ts'
import { makeRoom } from './evict-oldest.ts'

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
  /** Keeps a background task alive after the response (Workers `ctx.waitUntil`); absent on Node and Deno. */
  waitUntil?: (task: Promise<unknown>) => void
}

/** What the cache keeps of a read: Vault's answer once (values and metadata are derived from it). */
export interface StoredRead {
  secret: VaultSecret
  /** When the Vault read that produced it was sent (ms since epoch): older than a denial, never served. */
  filledAtMs: number
  freshUntilMs: number
  /** Leased secrets only (JSON drops an undefined field). */
  leaseExpiresAtMs?: number | undefined
  leaseToken?: LeaseToken
}

/** A response rendered once from an entry: the body and its ETag, per format and key selection. */
export interface RenderedResponse {
  /** The rendered body, UTF-8 encoded once. */
  body: Uint8Array<ArrayBuffer>
  contentType: string
  etag: string
}

export interface CachedRead {
  read: SecretRead
  /** When the Vault read was sent (ms since epoch). */
  filledAtMs: number
  /** When the broker stops serving it as fresh (ms since epoch). */
  freshUntilMs: number
  /**
   * When a leased secret stops working (ms since epoch): its lease's end, or the end of the Vault
   * token that holds the lease if that comes first (Vault revokes a token's leases with it).
   */
  leaseExpiresAtMs: number | undefined
  /** That Vault token, for leased secrets: only it keeps the lease alive (lease-renewer.ts). */
  leaseToken?: LeaseToken
  /**
   * Responses rendered from this entry (routes/secrets.ts), keyed by format and key selection. It
   * belongs to this one opened entry: a new read from Vault, or a new write seen in the shared
   * store, is a new entry with an empty map.
   */
  renders: Map<string, RenderedResponse>
}

export interface SecretResult extends CachedRead {
  /**
   * `hit`, `miss` or `stale`; on a `miss`, `read.secret.request_id` is Vault's id of the read and
   * `read.secret.lease_id` the lease served (for an audit trail).
   */
  cache: 'hit' | 'miss' | 'stale'
}

export interface SecretBroker {
  /** Without a promise for a fresh entry this process holds (issue 9: a cached read then awaits nothing). */
  getSecret(request: SecretRequest): SecretResult | Promise<SecretResult>
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
/**
 * The most Vault calls one fill makes in a row (token-source.ts): renew-self, the read, and on a
 * 403 lookup-self, a login and the read again. Each is bounded by vault.timeoutMs.
 */
export const MAX_VAULT_CALLS_PER_FILL = 5
// Vault failures after which Vault counts as in trouble: unreachable or sealed, or timed out.
// While it is, an expired entry still usable as stale is served at once, not after another
// timeout, and one read per entry probes Vault in the background.
const VAULT_TROUBLE_STATUSES = new Set([503, 504])
/**
 * Stale-while-revalidate, done before the entry goes stale: a hit in the last tenth of a KV
 * entry's freshness (at most its last 5 s) reads Vault again in the background, so a hot entry
 * is replaced before it expires and no request waits for Vault, while nothing is ever served
 * past its freshness while Vault answers. Not for leased secrets: a new read is a new lease
 * (new credentials); those are renewed by the renewal job instead.
 */
const REFRESH_AHEAD_MAX_MS = 5000
const REFRESH_AHEAD_SHARE = 0.1
/** Background reads at once while Vault is in trouble; entries beyond wait for a slot (each is served stale meanwhile). */
const MAX_CONCURRENT_PROBES = 32
/** Denials remembered in this process (the entry's names and when); the oldest go first. */
const MAX_REMEMBERED_DENIALS = 10_000

const isStoredRead = (value: unknown): value is StoredRead => {
  const entry = value as Partial<StoredRead> | undefined
  return typeof entry?.secret === 'object' && entry.secret !== null && typeof entry.filledAtMs === 'number' && typeof entry.freshUntilMs === 'number'
}

export interface SecretBrokerDeps {
  config: Config
  vault: VaultClient
  cache: SecureCache
  now: () => number
  /** Pod tokens: cached, renewed, one fresh login after a 403 (src/vault/token-source.ts). */
  tokens: TokenSource
  /** Where served leases are noted for the renewal job (src/vault/lease-registry.ts). */
  leases: LeaseRegistry
  /** A read too large to cache (CACHE_MAX_ENTRY_BYTES) was served uncached: logged and counted. */
  onUncacheable?: () => void
}

export function createSecretBroker(deps: SecretBrokerDeps): SecretBroker {
  const { cache, vault, now, tokens, leases } = deps
  const inFlight = new Map<string, Promise<SecretResult>>()
  const timeoutMs = deps.config.vault.timeoutMs
  // A fill's lock lives for one Vault call and the Redis calls around it, and is extended every
  // third of that while the fill runs, so it outlasts the longest fill (five calls) and a crashed
  // holder's lock still ends soon. Waiters wait no longer than the longest fill.
  const fillLockSeconds = Math.ceil((timeoutMs + FILL_REDIS_ALLOWANCE_MS) / 1000)
  const longestFillMs = MAX_VAULT_CALLS_PER_FILL * timeoutMs + FILL_REDIS_ALLOWANCE_MS
  // Entries Vault denied (403/404) to their identity, by entry name: an entry filled before the
  // denial is never served by this process, even when the delete could not reach Redis.
  const denials = new Map<string, { atMs: number; untilMs: number }>()
  // Opened entries by what the cache returned: a hit on the local level reuses the opened one
  // and its rendered responses.
  const opened = new WeakMap<StoredRead, CachedRead>()
  // Since when Vault timed out or was unreachable (ms since epoch); undefined while it answers.
  let vaultTroubleSinceMs: number | undefined
  // Background reads while Vault is in trouble: one per entry.
  const probes = new Map<string, Promise<void>>()

  const openEntry = (stored: StoredRead, path: string): CachedRead => {
    let entry = opened.get(stored)
    if (!entry) {
      entry = {
        read: unwrapSecret(path, stored.secret),
        filledAtMs: stored.filledAtMs,
        freshUntilMs: stored.freshUntilMs,
        leaseExpiresAtMs: stored.leaseExpiresAtMs,
        ...(stored.leaseToken ? { leaseToken: stored.leaseToken } : {}),
        renders: new Map(),
      }
      opened.set(stored, entry)
    }
    return entry
  }

  /** The entry under `parts`, unless this process saw Vault deny it after it was filled. */
  async function readEntry(parts: string[], name: string, options?: { shared?: boolean }): Promise<CachedRead | undefined> {
    const stored = await cache.get<StoredRead>('secret', parts, options)
    // An entry written by an earlier version of the broker (another shape) is a miss, not a 500.
    if (!isStoredRead(stored)) return undefined
    const denial = denials.get(name)
    if (denial) {
      if (denial.untilMs <= now()) denials.delete(name)
      else if (!(stored.filledAtMs > denial.atMs)) {
        // The delete after the denial did not reach the store (a Redis fault): try it again.
        await cache.delete('secret', parts)
        return undefined
      }
    }
    return openEntry(stored, parts[3]!)
  }

  /**
   * resolve()'s first answer, without its promises: a fresh entry this process holds and need not
   * check against the store yet (issue 9: the in-flight and store machinery was ~4 % of a cached
   * read on Node). Anything else (nothing held, due for a check, not fresh, a denial noted for
   * the entry) is left to resolve().
   */
  function heldFresh(request: SecretRequest, parts: string[], name: string): SecretResult | undefined {
    const stored = cache.peekLocal<StoredRead>('secret', parts)
    if (!isStoredRead(stored) || denials.has(name)) return undefined
    const cached = openEntry(stored, parts[3]!)
    return isFresh(cached) ? freshHit(request, parts, name, cached) : undefined
  }

  /** A fresh entry served as a hit; one near its end is read again in the background (refresh-ahead). */
  function freshHit(request: SecretRequest, parts: string[], name: string, cached: CachedRead): SecretResult {
    if (refreshAheadDue(cached)) probeInBackground(request, parts, name, cached, { shared: true })
    return { ...cached, cache: 'hit' }
  }

  /** Vault said 403 or 404: drop the entry from both levels, and remember it here in case the store missed the delete. */
  async function forgetDenied(parts: string[], name: string, cached: CachedRead | undefined): Promise<void> {
    const keepMs = Math.max(cached?.leaseExpiresAtMs ?? 0, (cached?.freshUntilMs ?? now()) + deps.config.cache.maxStaleSeconds * 1000)
    denials.delete(name)
    makeRoom(denials, MAX_REMEMBERED_DENIALS)
    denials.set(name, { atMs: now(), untilMs: Math.max(keepMs, now() + LOCAL_RECHECK_MS) })
    await cache.delete('secret', parts)
  }

  async function readFromVault(request: SecretRequest): Promise<StoredRead> {
    // Cached pod token, renewed when due; a 403 on a cached one → one fresh login (token-source.ts).
    const { secret, token, startedAtMs } = await tokens.withToken(request, async (token) => {
      // Vault starts the lease while answering: time it from the request, not from the answer.
      const startedAtMs = now()
      return { secret: (await readSecret(vault, { token: token.token, path: request.path, version: request.version })).secret, token, startedAtMs }
    })
    const leased = secret.lease_duration > 0 && secret.lease_id !== ''
    if (!leased) return { secret, filledAtMs: startedAtMs, freshUntilMs: startedAtMs + request.kvTtlSeconds * 1000 }
    const leaseToken = leaseTokenOf(token)
    return { secret, filledAtMs: startedAtMs, ...leasedEntryTimes(startedAtMs, secret.lease_duration, leaseToken.expiresAtMs), leaseToken }
  }

  const isFresh = (entry: CachedRead) => entry.freshUntilMs > now()
  // An expired entry stays usable while Vault fails, up to maxStaleSeconds and never past a lease's end.
  const isUsableStale = (entry: CachedRead) =>
    entry.freshUntilMs + deps.config.cache.maxStaleSeconds * 1000 > now() && (entry.leaseExpiresAtMs ?? Infinity) > now()

  async function readAndStore(request: SecretRequest, parts: string[]): Promise<CachedRead> {
    let stored: StoredRead
    try {
      stored = await readFromVault(request)
    } catch (error) {
      if (error instanceof AppError && VAULT_TROUBLE_STATUSES.has(error.status)) vaultTroubleSinceMs ??= now()
      throw error
    }
    vaultTroubleSinceMs = undefined
    // Keep the entry past its freshness for stale serving, but never past a lease's end.
    const keepMs = stored.leaseExpiresAtMs ?? stored.freshUntilMs + deps.config.cache.maxStaleSeconds * 1000
    if ((await cache.set('secret', parts, stored, (keepMs - now()) / 1000)) === 'too_large') deps.onUncacheable?.()
    return openEntry(stored, request.path)
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
   * (the holder finished or gave up) or the longest fill passed. `vaultFailing`: the holder met
   * a Vault failure that allows stale serving (it says so before releasing the lock).
   */
  async function waitForFill(parts: string[], name: string): Promise<{ fresh: boolean; entry: CachedRead | undefined; vaultFailing: boolean }> {
    const startedAtMs = now()
    let entry: CachedRead | undefined
    for (let slept = 0, pause = FILL_POLL_FIRST_MS; slept < longestFillMs; slept += pause, pause = Math.min(pause * 1.5, FILL_POLL_MAX_MS)) {
      await new Promise((resolve) => setTimeout(resolve, pause))
      // The lock first, then the entry: a holder drops the entry (Vault said 403 or 404) before it
      // releases the lock, so an entry read after the lock is gone is never one it dropped.
      const lock = await cache.get('lock', parts)
      entry = await readEntry(parts, name, { shared: true })
      if (entry && isFresh(entry)) return { fresh: true, entry, vaultFailing: false }
      if (lock === undefined) {
        const failure = await cache.get<{ atMs: number }>('fill-failure', parts)
        return { fresh: false, entry, vaultFailing: failure !== undefined && failure.atMs >= startedAtMs }
      }
    }
    return { fresh: false, entry, vaultFailing: false }
  }

  /**
   * While Vault is in trouble: one read of this entry in the background (Workers keep it alive
   * with waitUntil). It ends the trouble when Vault answers, and drops the entry on a 403/404.
   */
  function probeInBackground(request: SecretRequest, parts: string[], name: string, cached: CachedRead, options: { shared?: boolean } = {}): void {
    if (probes.has(name) || probes.size >= MAX_CONCURRENT_PROBES) return
    const read = async () => {
      // Refreshing ahead, processes sharing the store take turns: one refresh per entry at a time.
      const lock = options.shared ? await cache.claim('lock', parts, { atMs: now() }, fillLockSeconds) : NO_CLAIM
      if (lock.result === 'held') return
      try {
        await readAndStore({ ...request, refresh: false }, parts)
      } finally {
        await lock.release()
      }
    }
    const probe = read().then(
      () => undefined,
      async (error: unknown) => {
        if (error instanceof AppError && VAULT_GONE_STATUSES.has(error.status)) await forgetDenied(parts, name, cached)
      },
    ).finally(() => probes.delete(name))
    probes.set(name, probe)
    request.waitUntil?.(probe)
  }

  /** Keeps an acquired fill lock alive while the fill runs; returns the function that stops it. */
  function keepLocked(lock: Claim): () => void {
    if (lock.result !== 'acquired') return () => {}
    const timer = setInterval(() => void lock.extend(fillLockSeconds).catch(() => {}), (fillLockSeconds * 1000) / 3)
    return () => clearInterval(timer)
  }

  const refreshAheadDue = (entry: CachedRead) =>
    entry.leaseExpiresAtMs === undefined &&
    entry.freshUntilMs - now() < Math.min(REFRESH_AHEAD_MAX_MS, (entry.freshUntilMs - entry.filledAtMs) * REFRESH_AHEAD_SHARE)

  async function resolve(request: SecretRequest, parts: string[], name: string): Promise<SecretResult> {
    let cached = await readEntry(parts, name)
    if (cached && !request.refresh && isFresh(cached)) return freshHit(request, parts, name, cached)
    // What this process holds may be behind the shared store: another process may have refilled it.
    if (cached && !request.refresh) {
      cached = (await readEntry(parts, name, { shared: true })) ?? cached
      if (isFresh(cached)) return { ...cached, cache: 'hit' }
    }
    // Vault timed out or was unreachable: what is usable stale is served now, without waiting
    // for Vault again, and one background read per entry finds out when it is back.
    if (cached && !request.refresh && vaultTroubleSinceMs !== undefined && isUsableStale(cached)) {
      probeInBackground(request, parts, name, cached)
      return { ...cached, cache: 'stale' }
    }
    if (request.refresh) await claimRefresh(parts)
    // Across processes, one fill per entry: a short lock in the cache (SET NX EX); the others wait for its entry.
    const lock = request.refresh ? NO_CLAIM : await cache.claim('lock', parts, { atMs: now() }, fillLockSeconds)
    if (lock.result === 'held') {
      const waited = await waitForFill(parts, name)
      if (waited.fresh) return { ...waited.entry!, cache: 'hit' }
      cached = waited.entry ?? cached
      // The holder met a Vault failure we would meet too: a usable stale entry is served now.
      // Otherwise (it finished without an entry, failed some other way, or is stuck) we ask Vault
      // ourselves, for our own answer: stale is never served while Vault may be healthy.
      if (waited.vaultFailing && cached && isUsableStale(cached)) return { ...cached, cache: 'stale' }
    }
    const stopKeeping = keepLocked(lock)
    try {
      if (lock.result === 'acquired') {
        // Another process may have filled it between our first look and the claim.
        const again = await readEntry(parts, name, { shared: true })
        if (again && isFresh(again)) return { ...again, cache: 'hit' }
      }
      return { ...(await readAndStore(request, parts)), cache: 'miss' }
    } catch (error) {
      if (!(error instanceof AppError)) throw error
      // Vault has the final word: a denied or deleted secret is not served again, stale or not.
      if (VAULT_GONE_STATUSES.has(error.status)) await forgetDenied(parts, name, cached)
      else if (STALE_OK_STATUSES.has(error.status)) {
        // Tell the waiters, before the lock goes, that they may serve what they hold.
        if (lock.result === 'acquired') await cache.set('fill-failure', parts, { atMs: now() }, fillLockSeconds)
        if (cached && isUsableStale(cached)) return { ...cached, cache: 'stale' }
      }
      throw error
    } finally {
      stopKeeping()
      await lock.release()
    }
  }

  return {
    getSecret(request) {
      const parts = [identityScope(request.identity), request.authMount, request.role, request.path, String(request.version ?? '')]
      const name = JSON.stringify(parts)
      const flightKey = request.refresh ? `${name} refresh` : name
      // Served leases are renewed by the scheduled job while in use (src/vault/lease-registry.ts).
      // A result without a lease (KV) goes back as it is, without the extra promise (issue 9: per hit).
      const noteLease = (result: SecretResult): SecretResult | Promise<SecretResult> => {
        const lease = servedLeaseOf(request, parts, result)
        return lease === undefined ? result : leases.noteServed(lease).then(() => result)
      }
      const held = request.refresh ? undefined : heldFresh(request, parts, name)
      if (held) return noteLease(held)
      // Concurrent misses for one entry inside this isolate share one Vault call; `miss` is
      // reported to the request that made it, the others were served what it cached.
      let pending = inFlight.get(flightKey)
      if (pending) pending = pending.then((result) => (result.cache === 'miss' ? { ...result, cache: 'hit' } : result))
      else {
        pending = resolve(request, parts, name).finally(() => inFlight.delete(flightKey))
        inFlight.set(flightKey, pending)
      }
      return pending.then(noteLease)
    },
  }
}

// The broker's view of the cache: typed JSON entries named by their material (kind + parts),
// stored under an HMAC'd key and sealed. A Redis fault never fails a request: reads miss,
// writes are dropped, and the caller goes to Vault (SPEC §5; /readyz reports it). After a fault
// the store is left alone for a cool-down, so a slow Redis costs one timeout per cool-down, not
// one per command of every request.
import { CacheUnavailableError, type CacheStore } from './cache-store.ts'
import type { Sealer } from './seal.ts'

export type EntryKind = 'vault-token' | 'secret' | 'lease' | 'jwks' | 'oidc-discovery' | 'lock' | 'refresh'

/** How long the store is skipped after a fault before one call tries it again. */
export const CACHE_FAULT_COOLDOWN_MS = 3000

export interface CacheState {
  backend: CacheStore['kind']
  state: 'ok' | 'degraded'
  /** What failed last (no key, no value), while degraded. */
  reason?: string
  /** Since when (ms since epoch), while degraded. */
  sinceMs?: number
}

/** `acquired`: the entry was absent and is now ours; `held`: someone else's; `unavailable`: no cache to ask. */
export type ClaimResult = 'acquired' | 'held' | 'unavailable'

export interface SecureCache {
  readonly store: CacheStore
  get<T>(kind: EntryKind, parts: readonly string[]): Promise<T | undefined>
  set(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<void>
  /** Writes only when absent (Redis `SET NX EX`): locks and rate limits shared by every process. */
  claim(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<ClaimResult>
  delete(kind: EntryKind, parts: readonly string[]): Promise<void>
  fingerprint: Sealer['fingerprint']
  state(): CacheState
  /** Asks the store now, cool-down or not (for /readyz); an answer ends a degraded spell. */
  probe(): Promise<CacheState>
}

export interface SecureCacheOptions {
  log?: (message: string) => void
  now?: () => number
  faultCooldownMs?: number
}

export function createSecureCache(store: CacheStore, sealer: Sealer, options: SecureCacheOptions = {}): SecureCache {
  const log = options.log ?? (() => {})
  const now = options.now ?? Date.now
  const cooldownMs = options.faultCooldownMs ?? CACHE_FAULT_COOLDOWN_MS
  let fault: { reason: string; sinceMs: number } | undefined
  let retryAtMs = 0

  const nameOf = (kind: EntryKind, parts: readonly string[]) => sealer.keyFor(JSON.stringify([kind, ...parts]))

  const recovered = () => {
    if (!fault) return
    log(`cache recovered after ${Math.round((now() - fault.sinceMs) / 1000)} s`)
    fault = undefined
  }
  const failed = (error: CacheUnavailableError) => {
    if (!fault) log(`cache degraded: ${error.message}; serving from Vault`)
    fault = { reason: error.message, sinceMs: fault?.sinceMs ?? now() }
    retryAtMs = now() + cooldownMs
  }
  const tolerate = async <T>(run: () => Promise<T>, fallback: T): Promise<T> => {
    if (fault) {
      if (now() < retryAtMs) return fallback
      // This call is the probe; the others keep skipping the store until it answers.
      retryAtMs = now() + cooldownMs
    }
    try {
      const result = await run()
      recovered()
      return result
    } catch (error) {
      // Anything else is a bug, not a Redis fault, and must not be hidden.
      if (!(error instanceof CacheUnavailableError)) throw error
      failed(error)
      return fallback
    }
  }
  const state = (): CacheState =>
    fault ? { backend: store.kind, state: 'degraded', reason: fault.reason, sinceMs: fault.sinceMs } : { backend: store.kind, state: 'ok' }
  const ttl = (seconds: number) => Math.max(1, Math.ceil(seconds))

  return {
    store,
    async get<T>(kind: EntryKind, parts: readonly string[]) {
      const key = await nameOf(kind, parts)
      const sealed = await tolerate(() => store.get(key), null)
      if (sealed === null) return undefined
      const plaintext = await sealer.open(key, sealed)
      return plaintext === null ? undefined : (JSON.parse(plaintext) as T)
    },
    async set(kind, parts, value, ttlSeconds) {
      const key = await nameOf(kind, parts)
      const sealed = await sealer.seal(key, JSON.stringify(value))
      await tolerate(() => store.set(key, sealed, { ttlSeconds: ttl(ttlSeconds) }), false)
    },
    async claim(kind, parts, value, ttlSeconds) {
      const key = await nameOf(kind, parts)
      const sealed = await sealer.seal(key, JSON.stringify(value))
      const written = await tolerate<boolean | undefined>(() => store.set(key, sealed, { ttlSeconds: ttl(ttlSeconds), onlyIfAbsent: true }), undefined)
      return written === undefined ? 'unavailable' : written ? 'acquired' : 'held'
    },
    async delete(kind, parts) {
      const key = await nameOf(kind, parts)
      await tolerate(() => store.delete(key), undefined)
    },
    fingerprint: (data) => sealer.fingerprint(data),
    state,
    async probe() {
      try {
        await store.ping()
        recovered()
      } catch (error) {
        if (!(error instanceof CacheUnavailableError)) throw error
        failed(error)
      }
      return state()
    },
  }
}

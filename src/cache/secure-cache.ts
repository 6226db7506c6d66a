// The broker's view of the cache: typed JSON entries named by their material (kind + parts),
// stored under an HMAC'd key and sealed. A Redis fault never fails a request: reads miss,
// writes are dropped, and the caller goes to Vault (SPEC §5; /readyz reports it). After a fault
// the store is left alone for a cool-down, so a slow Redis costs one timeout per cool-down, not
// one per command of every request.
import { CacheUnavailableError, type CacheStore } from './cache-store.ts'
import type { Sealer } from './seal.ts'
import { parseJsonKeepingNumbers } from '../vault/lossless-json.ts'

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

export interface Claim {
  readonly result: ClaimResult
  /**
   * Deletes the entry if it is still this claim's: after it expired, another process may have
   * claimed it, and that claim is not ours to end. A no-op unless `acquired`.
   */
  release(): Promise<void>
}

/** The claim of a caller that did not ask (e.g. a refresh, which takes no fill lock). */
export const NO_CLAIM: Claim = { result: 'unavailable', release: async () => {} }

export interface SecureCache {
  readonly store: CacheStore
  get<T>(kind: EntryKind, parts: readonly string[]): Promise<T | undefined>
  set(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<void>
  /** Writes only when absent (Redis `SET NX EX`): locks and rate limits shared by every process. */
  claim(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<Claim>
  delete(kind: EntryKind, parts: readonly string[]): Promise<void>
  /**
   * Adds the entry named by `memberParts` to the index `parts` of the same kind: a Redis set of
   * entry names (HMACs, nothing readable), which lives `ttlSeconds` from now.
   */
  addToIndex(kind: EntryKind, parts: readonly string[], memberParts: readonly string[], ttlSeconds: number): Promise<void>
  /** The values of the entries an index names; names whose entry is gone are dropped from it. */
  indexed<T>(kind: EntryKind, parts: readonly string[]): Promise<T[]>
  removeFromIndex(kind: EntryKind, parts: readonly string[], members: readonly (readonly string[])[]): Promise<void>
  fingerprint: Sealer['fingerprint']
  pseudonymFor: Sealer['pseudonymFor']
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

  /** The value stored under `key`, undefined when absent, foreign or tampered. */
  const open = async <T>(key: string, sealed: string | null): Promise<T | undefined> => {
    if (sealed === null) return undefined
    const plaintext = await sealer.open(key, sealed)
    // Numbers in Vault's spelling (-0, 1.0) survive the cache as they came (vault/lossless-json.ts).
    return plaintext === null ? undefined : (parseJsonKeepingNumbers(plaintext) as T)
  }

  return {
    store,
    async get<T>(kind: EntryKind, parts: readonly string[]) {
      const key = await nameOf(kind, parts)
      return open<T>(key, await tolerate(() => store.get(key), null))
    },
    async set(kind, parts, value, ttlSeconds) {
      const key = await nameOf(kind, parts)
      const sealed = await sealer.seal(key, JSON.stringify(value))
      await tolerate(() => store.set(key, sealed, { ttlSeconds: ttl(ttlSeconds) }), false)
    },
    async claim(kind, parts, value, ttlSeconds) {
      const key = await nameOf(kind, parts)
      // A fresh IV per seal makes the sealed value this claim's own mark.
      const sealed = await sealer.seal(key, JSON.stringify(value))
      const written = await tolerate<boolean | undefined>(() => store.set(key, sealed, { ttlSeconds: ttl(ttlSeconds), onlyIfAbsent: true }), undefined)
      if (written !== true) return written === undefined ? NO_CLAIM : { result: 'held', release: NO_CLAIM.release }
      return {
        result: 'acquired',
        // GET then DEL is not atomic, but only a claim that outlived its TTL can meet another's,
        // and then only in the one round trip between the two.
        release: async () => {
          if ((await tolerate(() => store.get(key), null)) === sealed) await tolerate(() => store.delete(key), undefined)
        },
      }
    },
    async delete(kind, parts) {
      const key = await nameOf(kind, parts)
      await tolerate(() => store.delete(key), undefined)
    },
    async addToIndex(kind, parts, memberParts, ttlSeconds) {
      const [key, member] = await Promise.all([nameOf(kind, parts), nameOf(kind, memberParts)])
      await tolerate(() => store.addToSet(key, member, { ttlSeconds: ttl(ttlSeconds) }), undefined)
    },
    async indexed<T>(kind: EntryKind, parts: readonly string[]) {
      const key = await nameOf(kind, parts)
      const read = await tolerate(async () => {
        const members = await store.setMembers(key)
        return { members, sealed: await Promise.all(members.map((member) => store.get(member))) }
      }, undefined)
      if (!read) return []
      const values = await Promise.all(read.members.map((member, index) => open<T>(member, read.sealed[index]!)))
      const gone = read.members.filter((_, index) => values[index] === undefined)
      if (gone.length > 0) await tolerate(() => store.removeFromSet(key, gone), undefined)
      return values.filter((value) => value !== undefined) as T[]
    },
    async removeFromIndex(kind, parts, members) {
      if (members.length === 0) return
      const [key, ...names] = await Promise.all([nameOf(kind, parts), ...members.map((memberParts) => nameOf(kind, memberParts))])
      await tolerate(() => store.removeFromSet(key!, names), undefined)
    },
    fingerprint: (data) => sealer.fingerprint(data),
    pseudonymFor: (purpose, material) => sealer.pseudonymFor(purpose, material),
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

// The broker's view of the cache: typed JSON entries named by their material (kind + parts),
// stored under an HMAC'd key and sealed. A Redis fault never fails a request: reads miss,
// writes are dropped, and the caller goes to Vault (SPEC §5; readiness reports it).
import { CacheUnavailableError, type CacheStore } from './cache-store.ts'
import type { Sealer } from './seal.ts'

export type EntryKind = 'vault-token' | 'secret' | 'jwks' | 'lock'

export interface SecureCache {
  readonly store: CacheStore
  get<T>(kind: EntryKind, parts: readonly string[]): Promise<T | undefined>
  set(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<void>
  delete(kind: EntryKind, parts: readonly string[]): Promise<void>
  fingerprint: Sealer['fingerprint']
  /** The last cache fault, for /readyz; undefined once the cache answers again. */
  lastFault(): string | undefined
}

export function createSecureCache(store: CacheStore, sealer: Sealer, log: (message: string) => void = () => {}): SecureCache {
  let fault: string | undefined
  const nameOf = (kind: EntryKind, parts: readonly string[]) => sealer.keyFor(JSON.stringify([kind, ...parts]))
  const tolerate = async <T>(run: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      const result = await run()
      fault = undefined
      return result
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) throw error
      if (fault !== error.message) log(`cache degraded: ${error.message}; serving from Vault`)
      fault = error.message
      return fallback
    }
  }

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
      await tolerate(() => store.set(key, sealed, { ttlSeconds: Math.max(1, Math.ceil(ttlSeconds)) }), false)
    },
    async delete(kind, parts) {
      const key = await nameOf(kind, parts)
      await tolerate(() => store.delete(key), undefined)
    },
    fingerprint: (data) => sealer.fingerprint(data),
    lastFault: () => fault,
  }
}

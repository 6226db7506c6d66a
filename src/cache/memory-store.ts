// The local default store (SPEC §5): one Map per process or isolate, expiring like Redis.
import { assertValidTtl, type CacheStore } from './cache-store.ts'

interface Entry {
  value: string
  expiresAtMs: number
}

// Bounds memory when many identities pass through one long-lived process.
const MAX_ENTRIES = 10_000

export function createMemoryStore(now: () => number = Date.now): CacheStore {
  const entries = new Map<string, Entry>()
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key)
    if (entry && entry.expiresAtMs <= now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null
    },
    async set(key, value, { ttlSeconds, onlyIfAbsent }) {
      assertValidTtl(ttlSeconds)
      if (onlyIfAbsent && live(key)) return false
      if (entries.size >= MAX_ENTRIES) {
        // Map keeps insertion order: drop the oldest entry.
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
      entries.delete(key)
      entries.set(key, { value, expiresAtMs: now() + ttlSeconds * 1000 })
      return true
    },
    async delete(key) {
      entries.delete(key)
    },
    async ping() {},
  }
}

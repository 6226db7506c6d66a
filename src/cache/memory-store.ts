// The local default store (SPEC §5): one Map per process or isolate, expiring like Redis.
import { assertValidTtl, type CacheStore } from './cache-store.ts'
import { keptWhenFull, trimOldest } from '../evict-oldest.ts'

interface Entry {
  value: string | Set<string>
  expiresAtMs: number
}

// Bounds memory when many identities pass through one long-lived process.
const MAX_ENTRIES = 10_000

/** What Redis answers to a string command on a set, or the other way round: a bug, not a fault. */
const wrongType = () => new TypeError('WRONGTYPE Operation against a key holding the wrong kind of value')

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
  /**
   * Makes room for a new key: expired entries go first, then the oldest written (Map order), down
   * to a tenth below the bound, so the walk over every entry comes once per thousand writes, not
   * on each (evict-oldest.ts).
   */
  const makeRoomFor = (key: string) => {
    if (entries.has(key) || entries.size < MAX_ENTRIES) return
    const nowMs = now()
    for (const [name, entry] of entries) if (entry.expiresAtMs <= nowMs) entries.delete(name)
    trimOldest(entries, keptWhenFull(MAX_ENTRIES))
  }
  const write = (key: string, value: Entry['value'], ttlSeconds: number) => {
    makeRoomFor(key)
    entries.delete(key)
    entries.set(key, { value, expiresAtMs: now() + ttlSeconds * 1000 })
  }
  return {
    kind: 'memory',
    async get(key) {
      const value = live(key)?.value
      if (value instanceof Set) throw wrongType()
      return value ?? null
    },
    async set(key, value, { ttlSeconds, onlyIfAbsent }) {
      assertValidTtl(ttlSeconds)
      if (onlyIfAbsent && live(key)) return false
      write(key, value, ttlSeconds)
      return true
    },
    async delete(key) {
      entries.delete(key)
    },
    async compareAndSet(key, expected, value, { ttlSeconds }) {
      assertValidTtl(ttlSeconds)
      if (live(key)?.value !== expected) return false
      write(key, value, ttlSeconds)
      return true
    },
    async compareAndDelete(key, expected) {
      if (live(key)?.value !== expected) return false
      entries.delete(key)
      return true
    },
    async addToSet(key, member, { ttlSeconds }) {
      assertValidTtl(ttlSeconds)
      const current = live(key)?.value ?? new Set<string>()
      if (!(current instanceof Set)) throw wrongType()
      write(key, current.add(member), ttlSeconds)
    },
    async setMembers(key) {
      const value = live(key)?.value
      if (typeof value === 'string') throw wrongType()
      return [...(value ?? [])]
    },
    async removeFromSet(key, members) {
      const value = live(key)?.value
      if (typeof value === 'string') throw wrongType()
      for (const member of members) value?.delete(member)
      // Redis deletes a set once its last member goes.
      if (value?.size === 0) entries.delete(key)
    },
    async ping() {},
  }
}

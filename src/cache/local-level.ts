// The in-process level of the cache (issue 9): opened entries of this process or isolate, in
// front of the shared store, so a hit costs no Redis round trip, no AES-GCM and no JSON.parse.
// A least-recently-used map bounded in bytes (the plaintext size of each entry). Hand-written:
// the usual LRU packages bound counts, or are Node-only, and this is 60 lines.

export interface LocalEntry<T = unknown> {
  value: T
  /** The first characters of the sealed value it was opened from (its IV): names one write. */
  stamp: string
  /** Until then the entry is served without asking the shared store (ms since epoch). */
  checkAfterMs: number
  /** Never served after this, not even while the shared store is down (ms since epoch). */
  expiresAtMs: number
  bytes: number
}

export interface LocalLevel {
  get<T>(name: string): LocalEntry<T> | undefined
  set(name: string, entry: LocalEntry): void
  delete(name: string): void
  /** Bytes held now (for tests and /readyz-style reports). */
  bytes(): number
}

/** 32 MiB per process or isolate (Workers isolates have 128 MB). */
export const LOCAL_LEVEL_MAX_BYTES = 32 * 1024 * 1024
/** An entry larger than this share of the budget is not kept: it would push out many small ones. */
const MAX_ENTRY_SHARE = 8

export function createLocalLevel(options: { maxBytes?: number; now: () => number }): LocalLevel {
  const maxBytes = options.maxBytes ?? LOCAL_LEVEL_MAX_BYTES
  const entries = new Map<string, LocalEntry>()
  let total = 0
  // The name last set or moved to the end: a hit on it need not move it again (issue 9: a
  // delete and a set per cached read of the hottest entry).
  let newest: string | undefined

  const remove = (name: string) => {
    const entry = entries.get(name)
    if (!entry) return
    total -= entry.bytes
    entries.delete(name)
    if (name === newest) newest = undefined
  }

  return {
    get<T>(name: string) {
      const entry = entries.get(name)
      if (!entry) return undefined
      if (entry.expiresAtMs <= options.now()) {
        remove(name)
        return undefined
      }
      // Most recently used last: Map keeps insertion order, so eviction takes from the front.
      if (name !== newest) {
        entries.delete(name)
        entries.set(name, entry)
        newest = name
      }
      return entry as LocalEntry<T>
    },
    set(name, entry) {
      remove(name)
      if (entry.bytes > maxBytes / MAX_ENTRY_SHARE || entry.expiresAtMs <= options.now()) return
      if (total + entry.bytes > maxBytes) {
        // Least recently used first, down to a tenth below the budget, in one walk (evict-oldest.ts).
        const target = maxBytes - maxBytes / 10 - entry.bytes
        for (const oldest of entries.keys()) {
          if (total <= target) break
          remove(oldest)
        }
      }
      entries.set(name, entry)
      newest = name
      total += entry.bytes
    },
    delete: remove,
    bytes: () => total,
  }
}

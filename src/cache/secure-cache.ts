// The broker's view of the cache: typed JSON entries named by their material (kind + parts),
// stored under an HMAC'd key and sealed. A Redis fault never fails a request: reads miss,
// writes are dropped, and the caller goes to Vault (SPEC §5; /readyz reports it). After a fault
// the store is left alone for a cool-down, so a slow Redis costs one timeout per cool-down, not
// one per command of every request.
//
// Entries of the kinds in LOCAL_KINDS also live, opened, in this process's local level
// (local-level.ts): served from there for LOCAL_RECHECK_MS without asking the store, then checked
// against the store (an entry dropped there, e.g. after a denial in another process, is dropped
// here too), and kept serving while the store is down, never past the entry's own TTL.
import { CacheUnavailableError, type CacheStore } from './cache-store.ts'
import { createLocalLevel, type LocalLevel } from './local-level.ts'
import type { Sealer } from './seal.ts'
import { parseJsonKeepingNumbers } from '../vault/lossless-json.ts'
import { makeRoom } from '../evict-oldest.ts'

export type EntryKind = 'vault-token' | 'secret' | 'lease' | 'jwks' | 'oidc-discovery' | 'lock' | 'refresh' | 'fill-failure'

/**
 * The largest entry the cache keeps, in bytes of its JSON (UTF-8) before sealing. Sealed and
 * base64'd it is ~2.8 MB, well inside Upstash's 10 MB cap on one request (docs/cache.md).
 * Larger entries are neither stored nor kept locally: `set` answers `too_large`.
 */
export const CACHE_MAX_ENTRY_BYTES = 2 * 1024 * 1024
/** How long the local level answers for an entry before asking the shared store again. */
export const LOCAL_RECHECK_MS = 5000
/** Entries kept in the local level as well as in the store: the hot path of every read. */
const LOCAL_KINDS: ReadonlySet<EntryKind> = new Set(['secret', 'vault-token'])
/** A sealed value begins with base64(IV): 12 bytes, 16 characters, fresh for every write. */
const STAMP_CHARS = 16
/** Names derived (HMAC) and remembered: one WebCrypto call per entry name, not per lookup. */
const MAX_REMEMBERED_NAMES = 20_000

export type SetResult = 'stored' | 'too_large' | 'unavailable'

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
  /** Gives the entry `ttlSeconds` more from now if it is still this claim's; false otherwise. */
  extend(ttlSeconds: number): Promise<boolean>
}

/** The claim of a caller that did not ask (e.g. a refresh, which takes no fill lock). */
export const NO_CLAIM: Claim = { result: 'unavailable', release: async () => {}, extend: async () => false }

export interface SecureCache {
  readonly store: CacheStore
  /** `shared`: ask the shared store even when this process holds the entry (a local kind) and would not yet. */
  get<T>(kind: EntryKind, parts: readonly string[], options?: { shared?: boolean }): Promise<T | undefined>
  /**
   * What `get` would answer from this process's level alone, without a promise: the entry held for
   * `parts` while it is not yet due to be checked against the store (kinds of the local level;
   * undefined otherwise, and then `get` decides). A cached read needs no I/O (issue 9).
   */
  peekLocal<T>(kind: EntryKind, parts: readonly string[]): T | undefined
  /** `too_large`: over CACHE_MAX_ENTRY_BYTES, not kept; `unavailable`: the store is down (kept locally, if a local kind). */
  set(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<SetResult>
  /**
   * Read, change, write back only if nobody wrote or deleted the entry in between (compare-and-set
   * on the sealed value). `change` answers undefined to leave it. Returns whether it wrote.
   */
  update<T>(kind: EntryKind, parts: readonly string[], change: (current: T) => { value: T; ttlSeconds: number } | undefined): Promise<boolean>
  /** Writes only when absent (Redis `SET NX EX`): locks and rate limits shared by every process. */
  claim(kind: EntryKind, parts: readonly string[], value: unknown, ttlSeconds: number): Promise<Claim>
  /** Drops the entry from both levels; false when the store could not be reached (a fault). */
  delete(kind: EntryKind, parts: readonly string[]): Promise<boolean>
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
  /** The in-process level; a default one (LOCAL_LEVEL_MAX_BYTES) when absent. */
  local?: LocalLevel
}

const FAULT = Symbol('cache fault')
const encoder = new TextEncoder()

export function createSecureCache(store: CacheStore, sealer: Sealer, options: SecureCacheOptions = {}): SecureCache {
  const log = options.log ?? (() => {})
  const now = options.now ?? Date.now
  const cooldownMs = options.faultCooldownMs ?? CACHE_FAULT_COOLDOWN_MS
  const local = options.local ?? createLocalLevel({ now })
  let fault: { reason: string; sinceMs: number } | undefined
  let retryAtMs = 0

  const names = new Map<string, Promise<string>>()
  const materialOf = (kind: EntryKind, parts: readonly string[]) => JSON.stringify([kind, ...parts])
  const keyOf = (material: string) => {
    let name = names.get(material)
    if (!name) {
      makeRoom(names, MAX_REMEMBERED_NAMES)
      name = sealer.keyFor(material)
      names.set(material, name)
    }
    return name
  }
  const nameOf = (kind: EntryKind, parts: readonly string[]) => keyOf(materialOf(kind, parts))

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
  const open = async <T>(key: string, sealed: string | null): Promise<T | undefined> => (await openMeasured<T>(key, sealed))?.value
  const openMeasured = async <T>(key: string, sealed: string | null): Promise<{ value: T; bytes: number } | undefined> => {
    if (sealed === null) return undefined
    const plaintext = await sealer.open(key, sealed)
    // Numbers in Vault's spelling (-0, 1.0) survive the cache as they came (vault/lossless-json.ts).
    return plaintext === null ? undefined : { value: parseJsonKeepingNumbers(plaintext) as T, bytes: plaintext.length }
  }
  /** The store's TTL of an entry, in ms from now, mirrored by the local level. */
  const keepLocally = (material: string, value: unknown, sealed: string, bytes: number, ttlMs: number) =>
    local.set(material, { value, stamp: sealed.slice(0, STAMP_CHARS), checkAfterMs: now() + Math.min(LOCAL_RECHECK_MS, ttlMs), expiresAtMs: now() + ttlMs, bytes })

  async function getLocalKind<T>(kind: EntryKind, parts: readonly string[], shared: boolean): Promise<T | undefined> {
    const material = materialOf(kind, parts)
    const kept = local.get<T>(material)
    if (kept && !shared && now() < kept.checkAfterMs) return kept.value
    const key = await keyOf(material)
    const sealed = await tolerate<string | null | typeof FAULT>(() => store.get(key), FAULT)
    // The store is down: what this process holds keeps serving, until its own end.
    if (sealed === FAULT) return kept?.value
    if (sealed === null) {
      local.delete(material)
      return undefined
    }
    if (kept && sealed.startsWith(kept.stamp)) {
      // The same write as the one held: no need to open it again.
      kept.checkAfterMs = Math.min(now() + LOCAL_RECHECK_MS, kept.expiresAtMs)
      return kept.value
    }
    const opened = await openMeasured<T>(key, sealed)
    if (!opened) {
      local.delete(material)
      return undefined
    }
    // Its TTL in the store is not known here: keep it locally no longer than the recheck.
    local.set(material, { value: opened.value, stamp: sealed.slice(0, STAMP_CHARS), checkAfterMs: now() + LOCAL_RECHECK_MS, expiresAtMs: now() + LOCAL_RECHECK_MS, bytes: opened.bytes })
    return opened.value
  }

  /** Encodes and measures `value`, then seals it: undefined when it is over CACHE_MAX_ENTRY_BYTES. */
  async function sealEntry(key: string, value: unknown): Promise<{ sealed: string; bytes: number } | undefined> {
    const plaintext = encoder.encode(JSON.stringify(value))
    if (plaintext.length > CACHE_MAX_ENTRY_BYTES) return undefined
    return { sealed: await sealer.seal(key, plaintext), bytes: plaintext.length }
  }

  return {
    store,
    peekLocal<T>(kind: EntryKind, parts: readonly string[]) {
      if (!LOCAL_KINDS.has(kind)) return undefined
      const kept = local.get<T>(materialOf(kind, parts))
      return kept && now() < kept.checkAfterMs ? kept.value : undefined
    },
    async get<T>(kind: EntryKind, parts: readonly string[], options?: { shared?: boolean }) {
      if (LOCAL_KINDS.has(kind)) return getLocalKind<T>(kind, parts, options?.shared === true)
      const key = await nameOf(kind, parts)
      return open<T>(key, await tolerate(() => store.get(key), null))
    },
    async set(kind, parts, value, ttlSeconds) {
      const material = materialOf(kind, parts)
      const key = await keyOf(material)
      const entry = await sealEntry(key, value)
      if (!entry) {
        // Nothing older may stay behind it either.
        local.delete(material)
        await tolerate(() => store.delete(key), undefined)
        return 'too_large'
      }
      if (LOCAL_KINDS.has(kind)) keepLocally(material, value, entry.sealed, entry.bytes, ttl(ttlSeconds) * 1000)
      const written = await tolerate(() => store.set(key, entry.sealed, { ttlSeconds: ttl(ttlSeconds) }), undefined)
      return written === undefined ? 'unavailable' : 'stored'
    },
    async update<T>(kind: EntryKind, parts: readonly string[], change: (current: T) => { value: T; ttlSeconds: number } | undefined) {
      const material = materialOf(kind, parts)
      const key = await keyOf(material)
      const sealed = await tolerate(() => store.get(key), null)
      const current = await open<T>(key, sealed)
      if (current === undefined || sealed === null) return false
      const next = change(current)
      if (!next) return false
      const entry = await sealEntry(key, next.value)
      if (!entry) return false
      const written = await tolerate(() => store.compareAndSet(key, sealed, entry.sealed, { ttlSeconds: ttl(next.ttlSeconds) }), false)
      if (written && LOCAL_KINDS.has(kind)) keepLocally(material, next.value, entry.sealed, entry.bytes, ttl(next.ttlSeconds) * 1000)
      return written
    },
    async claim(kind, parts, value, ttlSeconds) {
      const key = await nameOf(kind, parts)
      // A fresh IV per seal makes the sealed value this claim's own mark.
      const sealed = await sealer.seal(key, JSON.stringify(value))
      const written = await tolerate<boolean | undefined>(() => store.set(key, sealed, { ttlSeconds: ttl(ttlSeconds), onlyIfAbsent: true }), undefined)
      if (written !== true) return written === undefined ? NO_CLAIM : { result: 'held', release: NO_CLAIM.release, extend: NO_CLAIM.extend }
      return {
        result: 'acquired',
        // Compare-and-delete: a claim that outlived its TTL may meet another's, which is not ours to end.
        release: async () => {
          await tolerate(() => store.compareAndDelete(key, sealed), false)
        },
        extend: (seconds) => tolerate(() => store.compareAndSet(key, sealed, sealed, { ttlSeconds: ttl(seconds) }), false),
      }
    },
    async delete(kind, parts) {
      const material = materialOf(kind, parts)
      local.delete(material)
      const key = await keyOf(material)
      return (await tolerate(async () => (await store.delete(key), true), false)) === true
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

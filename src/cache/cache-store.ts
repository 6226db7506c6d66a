/**
 * What the broker needs from a cache backend. Keys and values are opaque strings (already
 * HMAC'd and sealed by secure-cache.ts); TTLs follow Redis's rules, which reject `EX 0`.
 */
export interface CacheStore {
  readonly kind: 'memory' | 'redis'
  get(key: string): Promise<string | null>
  /** Returns false when `onlyIfAbsent` was asked and the key exists (Redis `SET NX`). */
  set(key: string, value: string, options: { ttlSeconds: number; onlyIfAbsent?: boolean }): Promise<boolean>
  delete(key: string): Promise<void>
  /**
   * Writes `value` only if the key still holds exactly `expected` (a Lua script on Redis, so no
   * other write can land between the comparison and the write). Returns whether it wrote.
   * Sealed values carry a fresh random IV, so `expected` names one write, not just one content.
   */
  compareAndSet(key: string, expected: string, value: string, options: { ttlSeconds: number }): Promise<boolean>
  /** Deletes the key only if it still holds exactly `expected` (atomic, as compareAndSet). */
  compareAndDelete(key: string, expected: string): Promise<boolean>
  /**
   * Redis `SADD` and `EXPIRE` in one transaction: the set at `key` holds `member` and lives
   * `ttlSeconds` from now. Several processes may add to one set at once without losing a member,
   * which a read-modify-write of one value cannot promise.
   */
  addToSet(key: string, member: string, options: { ttlSeconds: number }): Promise<void>
  /** Redis `SMEMBERS`: empty when there is no set. */
  setMembers(key: string): Promise<string[]>
  /** Redis `SREM`. */
  removeFromSet(key: string, members: readonly string[]): Promise<void>
  ping(): Promise<void>
}

export class CacheUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CacheUnavailableError'
  }
}

/**
 * Redis answers `ERR invalid expire time` for `EX 0` or below, and `ERR value is not an integer`
 * for a fraction or anything past a 64-bit integer; every store enforces the same. Every safe
 * integer ≥ 1 is accepted by Redis (its bound, (LLONG_MAX - now_ms) / 1000, lies above 2^53).
 */
export function assertValidTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`invalid expire time: ${ttlSeconds}`)
}

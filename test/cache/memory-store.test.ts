// The memory store is the local default (SPEC §5) and stands in for Redis in unit tests, so it
// must refuse what Redis refuses (STYLE: a fake enforces the real thing's limits).
import fc from 'fast-check'
import { Redis as IORedis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createUpstashStore } from '../../src/cache/upstash-store.ts'
import type { CacheStore } from '../../src/cache/cache-store.ts'
import { startPrivateRedis, type PrivateRedis } from '../support/redis.ts'
import { startUpstashShim, type UpstashShim } from '../support/upstash-shim.ts'

let redis: PrivateRedis
let shim: UpstashShim
let raw: IORedis
let upstash: CacheStore

beforeAll(async () => {
  redis = await startPrivateRedis()
  shim = await startUpstashShim({ redisUrl: redis.url, token: 'memory-store-test' })
  raw = new IORedis(redis.url)
  upstash = createUpstashStore({ url: shim.url, token: shim.token })
})
afterAll(async () => {
  raw?.disconnect()
  await shim?.stop()
  await redis?.stop()
})

const accepts = (run: () => Promise<unknown>) =>
  run().then(
    () => true,
    (error: unknown) => {
      if (error instanceof RangeError) return false
      throw error
    },
  )

/** What Redis itself says to the TTL as the Upstash protocol carries it (a JSON number, null for NaN). */
async function redisAccepts(ttl: number): Promise<boolean> {
  const wire = JSON.parse(JSON.stringify(ttl)) as number | null
  try {
    await raw.call('SET', 'ttl-probe', 'v', 'EX', wire === null ? '' : String(wire))
    return true
  } catch (error) {
    expect(String(error)).toMatch(/invalid expire time|not an integer|syntax error/)
    return false
  }
}

const ttlValues = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  fc.double(),
  fc.constantFrom(0, -0, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53 - 1, 2 ** 53, 1e16, 1e300),
)

describe('the memory store enforces the TTL rules of Redis', () => {
  it.each([0, -1, 1.5, NaN])('rejects EX %s as Redis does', async (ttl) => {
    const memory = createMemoryStore()
    await expect(memory.set('k', 'v', { ttlSeconds: ttl })).rejects.toThrow(RangeError)
    expect(await redisAccepts(ttl)).toBe(false)
  })

  it('accepts exactly the TTLs the Upstash store accepts, and none that Redis refuses', async () => {
    await fc.assert(
      fc.asyncProperty(ttlValues, async (ttl) => {
        const memory = await accepts(() => createMemoryStore().set('k', 'v', { ttlSeconds: ttl }))
        const upstashStore = await accepts(() => upstash.set('ttl-probe', 'v', { ttlSeconds: ttl }))
        const real = await redisAccepts(ttl)
        expect(memory).toBe(upstashStore)
        if (memory) expect(real).toBe(true)
        // Every TTL the broker can compute (a safe integer) gets the same answer from both.
        if (Number.isSafeInteger(ttl)) expect(memory).toBe(real)
      }),
      { numRuns: 150 },
    )
  })

  it('expires an entry after its TTL and lets SET NX take the key again, as Redis does', async () => {
    let nowMs = 1_000_000
    const memory = createMemoryStore(() => nowMs)
    expect(await memory.set('k', 'a', { ttlSeconds: 2 })).toBe(true)
    expect(await memory.set('k', 'b', { ttlSeconds: 2, onlyIfAbsent: true })).toBe(false)
    nowMs += 1999
    expect(await memory.get('k')).toBe('a')
    nowMs += 1
    expect(await memory.get('k')).toBeNull()
    expect(await memory.set('k', 'c', { ttlSeconds: 2, onlyIfAbsent: true })).toBe(true)
    expect(await memory.get('k')).toBe('c')

    // The same sequence against Redis through the Upstash store (real seconds, real expiry).
    const key = `nx-${Date.now()}`
    expect(await upstash.set(key, 'a', { ttlSeconds: 1 })).toBe(true)
    expect(await upstash.set(key, 'b', { ttlSeconds: 1, onlyIfAbsent: true })).toBe(false)
    expect(await upstash.get(key)).toBe('a')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await upstash.get(key)).toBeNull()
    expect(await upstash.set(key, 'c', { ttlSeconds: 1, onlyIfAbsent: true })).toBe(true)
  })

  it('overwrites the TTL on a plain SET and forgets a deleted key', async () => {
    let nowMs = 0
    const memory = createMemoryStore(() => nowMs)
    await memory.set('k', 'a', { ttlSeconds: 1 })
    await memory.set('k', 'b', { ttlSeconds: 10 })
    nowMs = 5000
    expect(await memory.get('k')).toBe('b')
    await memory.delete('k')
    expect(await memory.get('k')).toBeNull()
    await memory.delete('never-set')
  })

  it('keeps sets as Redis does: SADD re-arms the TTL, SREM removes, the last member takes the set with it', async () => {
    let nowMs = 0
    const memory = createMemoryStore(() => nowMs)
    const key = `set-${Date.now()}`
    for (const store of [memory, upstash]) {
      expect(await store.setMembers(key)).toEqual([])
      await Promise.all(['a', 'b', 'c', 'b'].map((member) => store.addToSet(key, member, { ttlSeconds: 60 })))
      expect((await store.setMembers(key)).sort()).toEqual(['a', 'b', 'c'])
      await store.removeFromSet(key, ['a', 'not-a-member'])
      expect((await store.setMembers(key)).sort()).toEqual(['b', 'c'])
      await store.removeFromSet(key, ['b', 'c'])
      expect(await store.setMembers(key)).toEqual([])
      await expect(store.addToSet(key, 'a', { ttlSeconds: 0 })).rejects.toThrow(RangeError)
    }
    expect(await raw.exists(key)).toBe(0)
    await upstash.addToSet(key, 'a', { ttlSeconds: 60 })
    expect(await raw.ttl(key)).toBeGreaterThan(50)

    await memory.addToSet(key, 'a', { ttlSeconds: 2 })
    nowMs = 1500
    await memory.addToSet(key, 'b', { ttlSeconds: 2 })
    nowMs = 3000
    expect((await memory.setMembers(key)).sort()).toEqual(['a', 'b'])
    nowMs = 3500
    expect(await memory.setMembers(key)).toEqual([])
  })

  it('makes room for a new entry by dropping expired ones before the oldest live one', async () => {
    let nowMs = 0
    const memory = createMemoryStore(() => nowMs)
    await memory.set('long-lived', 'v', { ttlSeconds: 3600 })
    for (let i = 1; i < 10_000; i++) await memory.set(`short-${i}`, 'v', { ttlSeconds: 1 })
    nowMs = 1000
    await memory.set('new', 'v', { ttlSeconds: 60 })
    expect(await memory.get('long-lived')).toBe('v')
    expect(await memory.get('new')).toBe('v')
  })

  it('drops no other entry when a full store overwrites a key it holds', async () => {
    const memory = createMemoryStore()
    for (let i = 0; i < 10_000; i++) await memory.set(`k${i}`, 'v', { ttlSeconds: 60 })
    await memory.set('k9999', 'w', { ttlSeconds: 60 })
    expect(await memory.get('k0')).toBe('v')
    expect(await memory.get('k9999')).toBe('w')
  })

  it('stays bounded when many identities pass through one process', async () => {
    const memory = createMemoryStore()
    for (let i = 0; i < 10_050; i++) await memory.set(`k${i}`, 'v', { ttlSeconds: 60 })
    expect(await memory.get('k0')).toBeNull()
    expect(await memory.get('k10049')).toBe('v')
    // Full, it drops the oldest tenth at once (k0…k999), so the next thousand writes drop nothing
    // and it does not walk every entry on each of them (evict-oldest.ts).
    expect(await memory.get('k999')).toBeNull()
    expect(await memory.get('k1000')).toBe('v')
  })
})

describe('conditional writes, alike in both stores', () => {
  it.each([
    ['memory', () => createMemoryStore()],
    ['Redis through the Upstash protocol', () => upstash],
  ])('%s: compare-and-set and compare-and-delete act only on the value they expect', async (_, storeOf) => {
    const store = storeOf()
    const key = `cas-${Math.random()}`
    expect(await store.compareAndSet(key, 'a', 'b', { ttlSeconds: 60 })).toBe(false) // absent
    await store.set(key, 'a', { ttlSeconds: 60 })
    expect(await store.compareAndSet(key, 'x', 'b', { ttlSeconds: 60 })).toBe(false)
    expect(await store.get(key)).toBe('a')
    expect(await store.compareAndSet(key, 'a', 'b', { ttlSeconds: 60 })).toBe(true)
    expect(await store.get(key)).toBe('b')
    expect(await store.compareAndDelete(key, 'a')).toBe(false)
    expect(await store.get(key)).toBe('b')
    expect(await store.compareAndDelete(key, 'b')).toBe(true)
    expect(await store.get(key)).toBeNull()
    await expect(store.compareAndSet(key, 'b', 'c', { ttlSeconds: 0 })).rejects.toThrow(RangeError)
  })
})

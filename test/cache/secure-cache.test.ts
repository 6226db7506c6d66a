// cache/secure-cache.ts: typed, sealed entries; a cache fault degrades to a miss, the store is
// left alone for a cool-down, and /readyz can see the state.
import { describe, expect, it } from 'vitest'
import { CacheUnavailableError, type CacheStore } from '../../src/cache/cache-store.ts'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createSealer } from '../../src/cache/seal.ts'
import { CACHE_FAULT_COOLDOWN_MS, createSecureCache } from '../../src/cache/secure-cache.ts'

/** A memory store that can be switched to failing, and counts the calls that reach it. */
function createFlakyStore() {
  const inner = createMemoryStore()
  let failing: string | undefined
  let calls = 0
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    calls++
    if (failing) throw new CacheUnavailableError(failing)
    return run()
  }
  const store: CacheStore = {
    kind: 'redis',
    get: (key) => guard(() => inner.get(key)),
    set: (key, value, options) => guard(() => inner.set(key, value, options)),
    delete: (key) => guard(() => inner.delete(key)),
    compareAndSet: (key, expected, value, options) => guard(() => inner.compareAndSet(key, expected, value, options)),
    compareAndDelete: (key, expected) => guard(() => inner.compareAndDelete(key, expected)),
    addToSet: (key, member, options) => guard(() => inner.addToSet(key, member, options)),
    setMembers: (key) => guard(() => inner.setMembers(key)),
    removeFromSet: (key, members) => guard(() => inner.removeFromSet(key, members)),
    ping: () => guard(() => inner.ping()),
  }
  return { store, inner, fail: (reason: string | undefined) => (failing = reason), calls: () => calls }
}

const sealer = await createSealer(Buffer.alloc(32, 1).toString('base64'))

describe('a secure cache', () => {
  it('keeps entries of different kinds and parts apart', async () => {
    const cache = createSecureCache(createMemoryStore(), sealer)
    await cache.set('secret', ['a', 'b'], { v: 1 }, 60)
    await cache.set('vault-token', ['a', 'b'], { v: 2 }, 60)
    await cache.set('secret', ['a,b'], { v: 3 }, 60)
    expect(await cache.get('secret', ['a', 'b'])).toEqual({ v: 1 })
    expect(await cache.get('vault-token', ['a', 'b'])).toEqual({ v: 2 })
    expect(await cache.get('secret', ['a,b'])).toEqual({ v: 3 })
    expect(await cache.get('secret', ['a'])).toBeUndefined()
  })

  it('claims an entry once until it expires or is deleted (the fill lock, the refresh limit)', async () => {
    let nowMs = 0
    const cache = createSecureCache(createMemoryStore(() => nowMs), sealer)
    expect((await cache.claim('lock', ['x'], {}, 2)).result).toBe('acquired')
    expect((await cache.claim('lock', ['x'], {}, 2)).result).toBe('held')
    nowMs = 2000
    const second = await cache.claim('lock', ['x'], {}, 2)
    expect(second.result).toBe('acquired')
    await second.release()
    expect((await cache.claim('lock', ['x'], {}, 2)).result).toBe('acquired')
  })

  it("releases a claim only while it is still its own, never another process's claim of the same entry", async () => {
    let nowMs = 0
    const store = createMemoryStore(() => nowMs)
    const one = createSecureCache(store, sealer)
    const other = createSecureCache(store, sealer)
    const slow = await one.claim('lock', ['x'], { atMs: 0 }, 2)
    expect(slow.result).toBe('acquired')
    // The holder outlives its claim; another process takes the entry over.
    nowMs = 2000
    expect((await other.claim('lock', ['x'], { atMs: 0 }, 2)).result).toBe('acquired')
    await slow.release()
    expect((await other.claim('lock', ['x'], { atMs: 0 }, 2)).result).toBe('held')
  })

  it('indexes entries by name so that concurrent additions all stay, and drops names whose entry is gone', async () => {
    let nowMs = 0
    const store = createMemoryStore(() => nowMs)
    const cache = createSecureCache(store, sealer)
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await cache.set('lease', ['record', String(i)], { i }, i < 5 ? 1 : 60)
        await cache.addToIndex('lease', ['index'], ['record', String(i)], 60)
      }),
    )
    expect((await cache.indexed<{ i: number }>('lease', ['index'])).map(({ i }) => i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    nowMs = 1000
    await cache.removeFromIndex('lease', ['index'], [['record', '9']])
    expect((await cache.indexed<{ i: number }>('lease', ['index'])).map(({ i }) => i).sort((a, b) => a - b)).toEqual([5, 6, 7, 8])
    // The expired records' names went with the read: the index holds the four live ones.
    expect(await store.setMembers(await sealer.keyFor(JSON.stringify(['lease', 'index'])))).toHaveLength(4)
  })

  it('reads an index as empty while the store is failing, and keeps its names for later', async () => {
    const flaky = createFlakyStore()
    const cache = createSecureCache(flaky.store, sealer, { now: () => 0 })
    await cache.set('lease', ['record', 'a'], 'a', 60)
    await cache.addToIndex('lease', ['index'], ['record', 'a'], 60)
    flaky.fail('Redis SMEMBERS failed')
    expect(await cache.indexed('lease', ['index'])).toEqual([])
    flaky.fail(undefined)
    expect(await cache.probe()).toEqual({ backend: 'redis', state: 'ok' })
    expect(await cache.indexed('lease', ['index'])).toEqual(['a'])
  })

  it('turns a store fault into a miss, skips the store for a cool-down, then tries once and recovers', async () => {
    let nowMs = 1_000_000
    const flaky = createFlakyStore()
    const logged: string[] = []
    const cache = createSecureCache(flaky.store, sealer, { now: () => nowMs, log: (line) => logged.push(line) })
    await cache.set('lease', ['k'], 'v', 60)
    expect(cache.state()).toEqual({ backend: 'redis', state: 'ok' })

    flaky.fail('Redis GET timed out')
    expect(await cache.get('lease', ['k'])).toBeUndefined()
    expect(cache.state()).toEqual({ backend: 'redis', state: 'degraded', reason: 'Redis GET timed out', sinceMs: 1_000_000 })
    const callsAfterFault = flaky.calls()
    await cache.set('lease', ['k2'], 'v', 60)
    expect((await cache.claim('lock', ['k'], {}, 5)).result).toBe('unavailable')
    await cache.delete('lease', ['k'])
    expect(flaky.calls()).toBe(callsAfterFault) // nothing reached the store during the cool-down

    flaky.fail(undefined)
    nowMs += CACHE_FAULT_COOLDOWN_MS
    expect(await cache.get('lease', ['k'])).toBe('v')
    expect(cache.state().state).toBe('ok')
    expect(logged).toEqual(['cache degraded: Redis GET timed out; serving from Vault', 'cache recovered after 3 s'])
  })

  it('lets one probe through after the cool-down while the others keep skipping the store', async () => {
    let nowMs = 0
    const flaky = createFlakyStore()
    const cache = createSecureCache(flaky.store, sealer, { now: () => nowMs })
    flaky.fail('Redis GET failed')
    await cache.get('secret', ['k'])
    nowMs += CACHE_FAULT_COOLDOWN_MS
    const before = flaky.calls()
    await Promise.all([cache.get('secret', ['k']), cache.get('secret', ['k']), cache.get('secret', ['k'])])
    expect(flaky.calls()).toBe(before + 1)
    expect(cache.state().state).toBe('degraded')
  })

  it('is probed by /readyz regardless of the cool-down, and a ping that answers ends the degraded state', async () => {
    const flaky = createFlakyStore()
    const cache = createSecureCache(flaky.store, sealer, { now: () => 0 })
    flaky.fail('Redis PING failed')
    expect((await cache.probe()).state).toBe('degraded')
    flaky.fail(undefined)
    expect(await cache.probe()).toEqual({ backend: 'redis', state: 'ok' })
  })

  it('does not hide a bug as a cache fault', async () => {
    const cache = createSecureCache(createMemoryStore(), sealer)
    const broken = createSecureCache({ ...createMemoryStore(), get: async () => { throw new TypeError('bug') } }, sealer)
    await expect(broken.get('secret', ['k'])).rejects.toThrow(TypeError)
    expect(cache.state().state).toBe('ok')
  })

  it('reads an entry it cannot authenticate as a miss', async () => {
    const store = createMemoryStore()
    const cache = createSecureCache(store, sealer)
    const other = createSecureCache(store, await createSealer(Buffer.alloc(32, 2).toString('base64')))
    await cache.set('secret', ['k'], 'v', 60)
    expect(await other.get('secret', ['k'])).toBeUndefined()
  })
})

// The Redis store through @upstash/redis, against Redis behind the Upstash REST shim: values
// come back byte for byte, every call is bounded by its timeout, and no error carries the
// command (with its key and value) that @upstash/redis would put in its message.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CacheUnavailableError } from '../../src/cache/cache-store.ts'
import { createUpstashStore, REDIS_TIMEOUT_MS } from '../../src/cache/upstash-store.ts'
import { runUntilExit } from '../support/process-broker.ts'
import { startUpstashShim, type UpstashShim } from '../support/upstash-shim.ts'
import { cacheBrokerConfig } from './support/cache-stack.ts'

let shim: UpstashShim
const prefix = `upstash-store-test:${process.pid}:${Date.now()}:`

beforeAll(async () => {
  // Our own shim over the shared Redis, so slowing it down disturbs no other test file.
  shim = await startUpstashShim({ redisUrl: inject('redisUrl'), token: 'upstash-store-test-token' })
})
afterAll(() => shim?.stop())

describe('the Upstash store', () => {
  it('gives stored strings back byte for byte, even those that look like JSON', async () => {
    const store = createUpstashStore({ url: shim.url, token: shim.token })
    const samples = ['42', 'true', 'null', '{"a":1}', '[1,2]', '"quoted"', '', ' 7 ', 'é€𝄞', 'line\nbreak', '1e3']
    for (const [index, value] of samples.entries()) {
      await store.set(`${prefix}fixed:${index}`, value, { ttlSeconds: 60 })
      expect(await store.get(`${prefix}fixed:${index}`)).toBe(value)
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), async (value) => {
        await store.set(`${prefix}prop`, value, { ttlSeconds: 60 })
        expect(await store.get(`${prefix}prop`)).toBe(value)
      }),
      { numRuns: 50 },
    )
  })

  it('sets only when absent with onlyIfAbsent (SET NX), and deletes', async () => {
    const store = createUpstashStore({ url: shim.url, token: shim.token })
    const key = `${prefix}nx`
    expect(await store.set(key, 'first', { ttlSeconds: 60, onlyIfAbsent: true })).toBe(true)
    expect(await store.set(key, 'second', { ttlSeconds: 60, onlyIfAbsent: true })).toBe(false)
    expect(await store.get(key)).toBe('first')
    await store.delete(key)
    expect(await store.get(key)).toBeNull()
  })

  it('reports a refused token as unavailable, without the key or the value in the message', async () => {
    const store = createUpstashStore({ url: shim.url, token: 'wrong-token' })
    const error = await store.set(`${prefix}leak-key`, 'leak-value-hunter2', { ttlSeconds: 60 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CacheUnavailableError)
    const text = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack} ${String((error as Error).cause)}`
    expect(text).not.toContain('leak-value-hunter2')
    expect(text).not.toContain('leak-key')
    expect(text).not.toContain('wrong-token')
  })

  it('reports a Redis error reply without the command', async () => {
    const store = createUpstashStore({ url: shim.url, token: shim.token })
    shim.setDown(true)
    try {
      const error = await store.get(`${prefix}down-key-hunter2`).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CacheUnavailableError)
      expect((error as Error).message).toBe('Redis GET failed')
      expect((error as Error).cause).toBeUndefined()
    } finally {
      shim.setDown(false)
    }
  })

  it('reports a failed set command without the key or the member', async () => {
    const store = createUpstashStore({ url: shim.url, token: shim.token })
    shim.setDown(true)
    try {
      for (const run of [
        () => store.addToSet(`${prefix}set-key-hunter2`, 'member-hunter2', { ttlSeconds: 60 }),
        () => store.setMembers(`${prefix}set-key-hunter2`),
        () => store.removeFromSet(`${prefix}set-key-hunter2`, ['member-hunter2']),
      ]) {
        const error = await run().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(CacheUnavailableError)
        expect((error as Error).message).toMatch(/^Redis (SADD|SMEMBERS|SREM) failed$/)
        expect((error as Error).cause).toBeUndefined()
      }
    } finally {
      shim.setDown(false)
    }
  })

  it('reports a refused connection as unavailable, at once (no retries)', async () => {
    const store = createUpstashStore({ url: 'http://127.0.0.1:9', token: 't' })
    const started = performance.now()
    await expect(store.ping()).rejects.toThrow(CacheUnavailableError)
    expect(performance.now() - started).toBeLessThan(REDIS_TIMEOUT_MS)
  })

  it('gives up on a slow Redis after its timeout', async () => {
    const store = createUpstashStore({ url: shim.url, token: shim.token, timeoutMs: 300 })
    shim.setDelayMs(3000)
    try {
      const started = performance.now()
      const error = await store.get(`${prefix}slow`).catch((e: unknown) => e)
      const elapsed = performance.now() - started
      expect(error).toBeInstanceOf(CacheUnavailableError)
      expect((error as Error).message).toBe('Redis GET timed out')
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(1500)
    } finally {
      shim.setDelayMs(0)
    }
  })
})

describe('a broker configured with Redis', () => {
  it('refuses to start without CACHE_ENCRYPTION_KEY, naming it', async () => {
    const config = cacheBrokerConfig({ issuerUrl: inject('issuerUrl'), openbaoAddr: inject('openbaoAddr'), namespace: 'cache-start' })
    const { code, output } = await runUntilExit('node', {
      BROKER_CONFIG: JSON.stringify(config),
      UPSTASH_REDIS_REST_URL: shim.url,
      UPSTASH_REDIS_REST_TOKEN: shim.token,
    })
    expect(code).toBe(1)
    expect(output).toContain('CACHE_ENCRYPTION_KEY: required')
    expect(output).not.toContain(shim.token)
  })
})

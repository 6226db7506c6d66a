// Redis for the tests: the shared one answers, private ones start and stop on free ports.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { getFreePort } from './free-port.ts'
import { ensureRedis, pingRedis, startPrivateRedis, type PrivateRedis } from './redis.ts'

const started: PrivateRedis[] = []
afterAll(async () => {
  for (const redis of started) await redis.stop()
})

describe('Redis for tests', () => {
  it('gives the global setup a Redis that answers PING', async () => {
    const { port } = new URL(inject('redisUrl'))
    expect(await pingRedis(Number(port))).toBe(true)
    const redis = await ensureRedis()
    expect(await pingRedis(redis.port)).toBe(true)
    await redis.stop()
  })

  it('starts a private redis-server on a free port and stops it for good', async () => {
    const redis = await startPrivateRedis()
    started.push(redis)
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    expect(redis.port).not.toBe(6379)
    expect(await pingRedis(redis.port)).toBe(true)
    redis.pause()
    expect(await pingRedis(redis.port, '127.0.0.1', 200)).toBe(false)
    redis.resume()
    expect(await pingRedis(redis.port)).toBe(true)
    await redis.stop()
    expect(await pingRedis(redis.port)).toBe(false)
    expect(() => process.kill(redis.pid, 0)).toThrow()
  })

  it('hands out ports nothing listens on', async () => {
    const port = await getFreePort()
    expect(port).toBeGreaterThan(1024)
    expect(await pingRedis(port)).toBe(false)
  })
})

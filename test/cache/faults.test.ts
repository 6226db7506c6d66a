// SPEC §5 failures, against the real servers: OpenBao frozen, sealed and stopped (stale within
// maxStaleSeconds, then 503/504), Redis stopped, slow and paused (requests keep succeeding from
// Vault, each Redis call bounded by its timeout, /readyz says so), and the recovery of each.
// Small bounds stand in for real ones: KV entries are fresh for 1 s and usable stale for 2 s more.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker } from '../../src/bootstrap.ts'
import { CACHE_FAULT_COOLDOWN_MS } from '../../src/cache/secure-cache.ts'
import { REDIS_TIMEOUT_MS } from '../../src/cache/upstash-store.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { outputOnceItShows } from '../support/child-process.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import {
  cacheBrokerConfig,
  configureJwtAuth,
  getSecret,
  grantServiceAccount,
  newEncryptionKey,
  podToken,
  putKv2,
  sleep,
  startCacheRedis,
  startOpenBaoOnPort,
  type CacheRedis,
} from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const NS = 'cache-faults'
const PATH = `secret/data/${NS}/config`
const KV_TTL_SECONDS = 1
const MAX_STALE_SECONDS = 2
const VAULT_TIMEOUT_MS = 1000
/** What a request may take on top of a Redis timeout: a login, a read and the HTTP round trip. */
const SLACK_MS = 1500

let openbao: OpenBao
let stopRestartedOpenBao: (() => Promise<void>) | undefined
let redis: CacheRedis
let broker: ProcessBroker
let token: string

async function seed(target: { address: string; rootToken: string }) {
  await configureJwtAuth(target, { issuerUrl })
  await grantServiceAccount(target, { namespace: NS, serviceAccount: 'app', paths: [`secret/data/${NS}/*`] })
  await putKv2(target, `${NS}/config`, { api_key: 'fault-value' })
}

beforeAll(async () => {
  ;[openbao, redis] = await Promise.all([startOpenBao(), startCacheRedis()])
  await seed(openbao)
  broker = await startProcessBroker('node', {
    BROKER_CONFIG: JSON.stringify(
      cacheBrokerConfig({
        issuerUrl,
        openbaoAddr: openbao.address,
        namespace: NS,
        vaultTimeoutMs: VAULT_TIMEOUT_MS,
        cache: { kvTtlSeconds: KV_TTL_SECONDS, maxStaleSeconds: MAX_STALE_SECONDS },
      }),
    ),
    UPSTASH_REDIS_REST_URL: redis.shim.url,
    UPSTASH_REDIS_REST_TOKEN: redis.shim.token,
    CACHE_ENCRYPTION_KEY: newEncryptionKey(),
  })
  token = await podToken(issuerUrl, NS, 'app')
})
afterAll(async () => {
  await broker?.stop()
  await Promise.all([openbao?.stop(), stopRestartedOpenBao?.(), redis?.stop()])
  expect(broker.output()).not.toContain(token)
})

const read = (headers: Record<string, string> = {}) => getSecret(broker.url, PATH, token, headers)
const readyz = async () => (await (await fetch(`${broker.url}/readyz`)).json()) as { status: string; cache: { state: string; reason?: string } }

/** Reads until the answer is a fresh one from Vault that the cache then serves (the cache works again). */
async function untilCacheServes(): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    if ((await readyz()).cache.state === 'ok') {
      const first = await read()
      const second = await read()
      if (first.status === 200 && second.headers.get('x-cache') === 'hit') return
    }
    if (Date.now() > deadline) throw new Error('the cache did not come back')
    await sleep(200)
  }
}

describe('Redis failing', () => {
  it('stopped mid-run: requests keep succeeding (from this process, then from Vault), /readyz says the cache is degraded, and it recovers', async () => {
    expect((await read()).status).toBe(200)
    expect((await read()).headers.get('x-cache')).toBe('hit')
    await redis.kill()
    // Past the entry's freshness: this process's own level no longer answers for it, Vault does.
    await sleep(KV_TTL_SECONDS * 1000 + 100)
    for (let i = 0; i < 5; i++) {
      const answer = await read()
      expect(answer.status).toBe(200)
      expect(['hit', 'miss']).toContain(answer.headers.get('x-cache'))
      expect(answer.ms).toBeLessThan(REDIS_TIMEOUT_MS + SLACK_MS)
    }
    const ready = await readyz()
    expect(ready.status).toBe('ready')
    expect(ready.cache).toMatchObject({ backend: 'redis', state: 'degraded' })
    expect(ready.cache.reason).toMatch(/^Redis [A-Z]+ (failed|timed out)$/)

    await redis.start()
    await untilCacheServes()
    expect(await outputOnceItShows(() => broker.output(), 'cache recovered')).toContain('cache degraded')
    expect(broker.output()).toContain('cache recovered')
  })

  it.each([
    ['answering slowly', () => redis.shim.setDelayMs(5000), () => redis.shim.setDelayMs(0)],
    ['paused (connections accepted, never answered)', () => redis.pause(), () => redis.resume()],
  ])('%s: every request is bounded by the Redis timeout and served from Vault; then the cache serves again', async (_, breakIt, mendIt) => {
    await untilCacheServes()
    // Past the entry's freshness, so the next read asks Redis instead of this process's own level.
    await sleep(KV_TTL_SECONDS * 1000 + 100)
    breakIt()
    try {
      const latencies: number[] = []
      for (let i = 0; i < 5; i++) {
        const answer = await read()
        expect(answer.status).toBe(200)
        latencies.push(answer.ms)
      }
      // The first request met the slow Redis and waited out one timeout; none waited longer.
      expect(Math.max(...latencies)).toBeGreaterThanOrEqual(REDIS_TIMEOUT_MS * 0.9)
      expect(Math.max(...latencies)).toBeLessThan(REDIS_TIMEOUT_MS + SLACK_MS)
      expect((await readyz()).cache.state).toBe('degraded')
    } finally {
      mendIt()
    }
    await untilCacheServes()
  })

  it('never turns a Redis fault into a 500 while Redis flaps between down, slow and well', async () => {
    // In this process, with a clock that jumps past the fault cool-down before every request, so
    // each request meets Redis in its current state instead of skipping it.
    const clock = { ms: Date.now() }
    const inProcess = await createBroker(
      {
        BROKER_CONFIG: JSON.stringify(cacheBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, namespace: NS, cache: { kvTtlSeconds: 60 } })),
        UPSTASH_REDIS_REST_URL: redis.shim.url,
        UPSTASH_REDIS_REST_TOKEN: redis.shim.token,
        CACHE_ENCRYPTION_KEY: newEncryptionKey(),
      },
      { fetch, log: createMemoryLogger(), now: () => clock.ms },
    )
    const request = async (headers: Record<string, string>) =>
      (await inProcess.app.request(`/v1/secrets/${PATH}`, { headers: { ...headers, Authorization: `Bearer ${token}` } })).status
    const statuses: number[] = []
    const states = ['down', 'well', 'slow', 'down', 'well'] as const
    const variants: Record<string, string>[] = [{}, { 'Cache-Control': 'no-cache' }, { 'If-None-Match': '"x"' }]
    let faultyRequests = 0
    for (const state of states) {
      redis.shim.setDown(state === 'down')
      redis.shim.setDelayMs(state === 'slow' ? REDIS_TIMEOUT_MS + 200 : 0)
      const before = redis.shim.requestCount()
      for (const headers of variants) {
        clock.ms += CACHE_FAULT_COOLDOWN_MS
        statuses.push(await request(headers))
      }
      if (state !== 'well') faultyRequests += redis.shim.requestCount() - before
    }
    redis.shim.setDown(false)
    redis.shim.setDelayMs(0)
    expect(faultyRequests).toBeGreaterThan(0)
    // 429: a no-cache refresh that the shared limit refused while Redis answered.
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([])
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(states.length * 2)
    await untilCacheServes()
  })
})

describe('OpenBao failing', () => {
  /** A fresh entry, then past its freshness (but within the stale bound). */
  async function expiredEntry(): Promise<void> {
    await untilCacheServes()
    await sleep(KV_TTL_SECONDS * 1000 + 100)
  }

  async function expectStaleThenRefused(status: number, code: string): Promise<Response['headers']> {
    const stale = await read()
    expect([stale.status, stale.headers.get('x-cache'), JSON.parse(stale.body)]).toEqual([200, 'stale', { api_key: 'fault-value' }])
    await sleep(MAX_STALE_SECONDS * 1000)
    const refused = await read()
    expect([refused.status, JSON.parse(refused.body).code]).toEqual([status, code])
    return refused.headers
  }

  it('frozen (no answer): serves the expired entry as stale within maxStaleSeconds, then 504; fresh again once it answers', async () => {
    await expiredEntry()
    openbao.freeze()
    try {
      await expectStaleThenRefused(504, 'vault_timeout')
    } finally {
      openbao.thaw()
    }
    expect((await read()).headers.get('x-cache')).toBe('miss')
  })

  it('sealed: serves the expired entry as stale, then 503 with Retry-After; fresh again once unsealed', async () => {
    await expiredEntry()
    await openbao.seal()
    try {
      const headers = await expectStaleThenRefused(503, 'vault_unavailable')
      expect(headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/)
    } finally {
      await openbao.unseal()
    }
    expect((await read()).headers.get('x-cache')).toBe('miss')
  })

  it('stopped: serves the expired entry as stale, then 503 with Retry-After; after a restart that lost every token, serves again', async () => {
    await expiredEntry()
    const { port, rootToken } = openbao
    await openbao.stop()
    const headers = await expectStaleThenRefused(503, 'vault_unavailable')
    expect(headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/)

    stopRestartedOpenBao = await startOpenBaoOnPort(port, rootToken)
    await seed({ address: `http://127.0.0.1:${port}`, rootToken })
    // The cached Vault token died with the old server: one 403, one fresh login, then the read.
    const back = await read()
    expect([back.status, back.headers.get('x-cache'), JSON.parse(back.body)]).toEqual([200, 'miss', { api_key: 'fault-value' }])
  })
})

// Freshness rules of SPEC §5 with the broker in this process (memory store, injected clock)
// against the real OpenBao: kvTtlSeconds and its per-rule override, stale serving bounded by
// maxStaleSeconds, ETag/304, and `Cache-Control: no-cache` refreshes with their rate limit.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { REFRESH_INTERVAL_SECONDS } from '../../src/secret-broker.ts'
import { createOpenBaoClient } from '../support/openbao.ts'
import { cacheBrokerConfig, grantServiceAccount, newEncryptionKey, podToken, putKv2, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken'), auditLogPath: inject('openbaoAuditLog') })
const NS = 'cache-fresh'
const CONFIG_PATH = `secret/data/${NS}/config`
const KV_TTL_SECONDS = 60
const MAX_STALE_SECONDS = 120
const SHORT_TTL_SECONDS = 5

interface InProcessBroker {
  clock: { ms: number }
  /** While true, every call to OpenBao fails as a refused connection would. */
  vaultDown: { value: boolean }
  get(path: string, token: string, headers?: Record<string, string>): Promise<Response>
  broker: Broker
}

async function startInProcess(env: Record<string, string> = {}): Promise<InProcessBroker> {
  const clock = { ms: Date.now() }
  const vaultDown = { value: false }
  const config = cacheBrokerConfig({
    issuerUrl,
    openbaoAddr: openbao.address,
    namespace: NS,
    cache: { kvTtlSeconds: KV_TTL_SECONDS, maxStaleSeconds: MAX_STALE_SECONDS },
    // The per-rule override: ServiceAccount `short` keeps KV reads for 5 s.
    rules: [{ cluster: 'local', namespace: NS, serviceAccount: 'short', role: '{namespace}-{serviceAccount}', paths: [`secret/data/${NS}/*`], kvTtlSeconds: SHORT_TTL_SECONDS }],
  })
  const guardedFetch: typeof fetch = async (input, init) => {
    if (vaultDown.value && String(input instanceof Request ? input.url : input).startsWith(openbao.address)) throw new TypeError('fetch failed')
    return fetch(input, init)
  }
  const broker = await createBroker({ BROKER_CONFIG: JSON.stringify(config), ...env }, { fetch: guardedFetch, log: createMemoryLogger(), now: () => clock.ms })
  return {
    clock,
    vaultDown,
    broker,
    get: async (path, token, headers = {}) => broker.app.request(`/v1/secrets/${path}`, { headers: { ...headers, Authorization: `Bearer ${token}` } }),
  }
}

const tokens: Record<string, string> = {}
let redis: CacheRedis

beforeAll(async () => {
  for (const serviceAccount of ['app', 'short', 'other', 'revoked']) {
    await grantServiceAccount(openbao, { namespace: NS, serviceAccount, paths: [`secret/data/${NS}/*`] })
    tokens[serviceAccount] = await podToken(issuerUrl, NS, serviceAccount)
  }
  await putKv2(openbao, `${NS}/config`, { value: 'v1' })
  await putKv2(openbao, `${NS}/other`, { value: 'other' })
  redis = await startCacheRedis()
})
afterAll(() => redis?.stop())

const xCache = (response: Response) => response.headers.get('x-cache')

describe('freshness of KV reads', () => {
  it('serves a KV read from the cache for kvTtlSeconds, then reads Vault again', async () => {
    const broker = await startInProcess()
    const mark = await openbao.auditMark()
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('miss')
    // Outside the last tenth of its freshness, where a hit would also refresh it in the background.
    broker.clock.ms += (KV_TTL_SECONDS - 10) * 1000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('hit')
    broker.clock.ms += 10_000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('miss')
    expect(await openbao.countRequests({ path: CONFIG_PATH, since: mark, metadata: { service_account_name: 'app' } })).toBe(2)
  })

  it("keeps KV reads for the kvTtlSeconds of the identity's rule when it sets one", async () => {
    const broker = await startInProcess()
    expect(xCache(await broker.get(CONFIG_PATH, tokens.short!))).toBe('miss')
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('miss')
    broker.clock.ms += (SHORT_TTL_SECONDS - 1) * 1000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.short!))).toBe('hit')
    broker.clock.ms += 1000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.short!))).toBe('miss')
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('hit')
  })

  it('makes one login and one read at OpenBao for concurrent misses of 20 pods in one process', async () => {
    const broker = await startInProcess()
    const pods = await Promise.all(Array.from({ length: 20 }, (_, i) => podToken(issuerUrl, NS, 'other', `other-${i}`)))
    const mark = await openbao.auditMark()
    const answers = await Promise.all(pods.map((token) => broker.get(`secret/data/${NS}/other`, token)))
    expect(answers.map((a) => a.status)).toEqual(pods.map(() => 200))
    expect(await openbao.countRequests({ path: 'auth/jwt/login', since: mark, metadata: { service_account_name: 'other' } })).toBe(1)
    expect(await openbao.countRequests({ path: `secret/data/${NS}/other`, since: mark })).toBe(1)
  })
})

describe('stale serving when Vault fails', () => {
  it('serves an expired entry as stale while Vault is unreachable, up to maxStaleSeconds, then 503 with Retry-After', async () => {
    const broker = await startInProcess()
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('miss')
    broker.vaultDown.value = true
    broker.clock.ms += KV_TTL_SECONDS * 1000
    const stale = await broker.get(CONFIG_PATH, tokens.app!)
    expect(stale.status).toBe(200)
    expect(xCache(stale)).toBe('stale')
    expect(await stale.json()).toEqual({ value: 'v1' })
    broker.clock.ms += (MAX_STALE_SECONDS - 1) * 1000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('stale')
    broker.clock.ms += 1000
    const gone = await broker.get(CONFIG_PATH, tokens.app!)
    expect(gone.status).toBe(503)
    expect(gone.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/)
    expect(await gone.json()).toMatchObject({ code: 'vault_unavailable' })

    broker.vaultDown.value = false
    const back = await broker.get(CONFIG_PATH, tokens.app!)
    expect([back.status, xCache(back)]).toEqual([200, 'miss'])
  })

  it('drops the entry of an identity Vault now denies: no hit, no stale', async () => {
    const broker = await startInProcess()
    expect(xCache(await broker.get(CONFIG_PATH, tokens.revoked!))).toBe('miss')
    await grantServiceAccount(openbao, { namespace: NS, serviceAccount: 'revoked', paths: [`secret/data/${NS}/nothing-here`] })
    try {
      broker.clock.ms += KV_TTL_SECONDS * 1000
      const denied = await broker.get(CONFIG_PATH, tokens.revoked!)
      expect(denied.status).toBe(403)
      expect(await denied.text()).not.toContain('v1')
      broker.vaultDown.value = true
      const down = await broker.get(CONFIG_PATH, tokens.revoked!)
      expect(down.status).toBe(503)
    } finally {
      await grantServiceAccount(openbao, { namespace: NS, serviceAccount: 'revoked', paths: [`secret/data/${NS}/*`] })
    }
  })
})

describe('ETag and If-None-Match', () => {
  it('sends an ETag with every secret response and answers a matching If-None-Match with 304 and no body', async () => {
    const broker = await startInProcess()
    const first = await broker.get(CONFIG_PATH, tokens.app!)
    const etag = first.headers.get('etag')
    expect(etag).toMatch(/^"[0-9a-f]{40,}"$/)
    const again = await broker.get(CONFIG_PATH, tokens.app!, { 'If-None-Match': etag! })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    expect(again.headers.get('etag')).toBe(etag)
    expect(again.headers.get('cache-control')).toBe('no-store')
    expect((await broker.get(CONFIG_PATH, tokens.app!, { 'If-None-Match': '"something-else"' })).status).toBe(200)
  })

  it('keeps on a 304 the cache, refresh and common headers of the 200, and drops its type and version', async () => {
    const broker = await startInProcess()
    const first = await broker.get(CONFIG_PATH, tokens.app!)
    const again = await broker.get(CONFIG_PATH, tokens.app!, { 'If-None-Match': `"other", W/${first.headers.get('etag')}` })
    const names = (response: Response) => [...response.headers.keys()].sort()
    expect(names(first)).toEqual(['cache-control', 'content-type', 'etag', 'x-cache', 'x-content-type-options', 'x-refresh-after', 'x-request-id', 'x-vault-secret-version'])
    expect(again.status).toBe(304)
    expect(names(again)).toEqual(['cache-control', 'etag', 'x-cache', 'x-content-type-options', 'x-refresh-after', 'x-request-id'])
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'))
    expect((await broker.get(CONFIG_PATH, tokens.app!, { 'If-None-Match': '*' })).status).toBe(304)
  })

  it('gives each format its own ETag, and a new one when the secret changes', async () => {
    const broker = await startInProcess()
    const json = (await broker.get(CONFIG_PATH, tokens.app!)).headers.get('etag')
    const env = (await broker.get(`${CONFIG_PATH}?format=env`, tokens.app!)).headers.get('etag')
    expect(env).not.toBe(json)
    await putKv2(openbao, `${NS}/config`, { value: 'v2' })
    try {
      await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })
      const refreshed = await broker.get(CONFIG_PATH, tokens.app!, { 'If-None-Match': json! })
      expect(refreshed.status).toBe(200)
      expect(await refreshed.json()).toEqual({ value: 'v2' })
      expect(refreshed.headers.get('etag')).not.toBe(json)
    } finally {
      await putKv2(openbao, `${NS}/config`, { value: 'v1' })
    }
  })
})

describe('Cache-Control: no-cache', () => {
  it('is not a refresh on a conditional request, where fetch() adds it by itself', async () => {
    const broker = await startInProcess()
    const etag = (await broker.get(CONFIG_PATH, tokens.app!)).headers.get('etag')!
    for (let poll = 0; poll < 3; poll++) {
      const revalidated = await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache', 'If-None-Match': etag })
      expect([revalidated.status, xCache(revalidated)]).toEqual([304, 'hit'])
    }
  })

  it("refreshes the identity's entry from Vault, and later reads get the refreshed entry", async () => {
    const broker = await startInProcess()
    expect(await (await broker.get(CONFIG_PATH, tokens.app!)).json()).toEqual({ value: 'v1' })
    await putKv2(openbao, `${NS}/config`, { value: 'v3' })
    try {
      const cached = await broker.get(CONFIG_PATH, tokens.app!)
      expect([xCache(cached), await cached.json()]).toEqual(['hit', { value: 'v1' }])
      const refreshed = await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })
      expect([xCache(refreshed), await refreshed.json()]).toEqual(['miss', { value: 'v3' }])
      const after = await broker.get(CONFIG_PATH, tokens.app!)
      expect([xCache(after), await after.json()]).toEqual(['hit', { value: 'v3' }])
    } finally {
      await putKv2(openbao, `${NS}/config`, { value: 'v1' })
    }
  })

  it(`answers 429 with Retry-After to a second refresh within ${REFRESH_INTERVAL_SECONDS} s, and refreshes again after`, async () => {
    const broker = await startInProcess()
    const mark = await openbao.auditMark()
    expect((await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })).status).toBe(200)
    broker.clock.ms += 3000
    const limited = await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe(String(REFRESH_INTERVAL_SECONDS - 3))
    expect(await limited.json()).toMatchObject({ code: 'rate_limited' })
    // A plain read is not limited: it is served from the cache.
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!))).toBe('hit')
    broker.clock.ms += (REFRESH_INTERVAL_SECONDS - 3) * 1000
    expect(xCache(await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' }))).toBe('miss')
    expect(await openbao.countRequests({ path: CONFIG_PATH, since: mark, metadata: { service_account_name: 'app' } })).toBe(2)
  })

  it('limits per identity and path: another ServiceAccount, or another path, still refreshes', async () => {
    const broker = await startInProcess()
    expect((await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })).status).toBe(200)
    expect((await broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })).status).toBe(429)
    expect((await broker.get(CONFIG_PATH, tokens.other!, { 'Cache-Control': 'no-cache' })).status).toBe(200)
    expect((await broker.get(`secret/data/${NS}/other`, tokens.app!, { 'Cache-Control': 'no-cache' })).status).toBe(200)
  })

  it('shares one refresh among concurrent no-cache requests of one process', async () => {
    const broker = await startInProcess()
    const answers = await Promise.all(Array.from({ length: 5 }, () => broker.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
  })

  it('applies one limit to every broker process sharing Redis', async () => {
    const env = { UPSTASH_REDIS_REST_URL: redis.shim.url, UPSTASH_REDIS_REST_TOKEN: redis.shim.token, CACHE_ENCRYPTION_KEY: newEncryptionKey() }
    const [one, two] = [await startInProcess(env), await startInProcess(env)]
    expect((await one.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })).status).toBe(200)
    const limited = await two.get(CONFIG_PATH, tokens.app!, { 'Cache-Control': 'no-cache' })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(REFRESH_INTERVAL_SECONDS - 1)
    // The other process serves the refreshed entry from Redis.
    expect(xCache(await two.get(CONFIG_PATH, tokens.app!))).toBe('hit')
  })
})

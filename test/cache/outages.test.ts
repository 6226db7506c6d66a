// Issue 9: trouble that costs nothing extra. With a private Redis and a private OpenBao:
// - Redis stopped for 60 s under steady load from 20 ServiceAccounts: the Vault tokens in each
//   process's own level keep serving, so OpenBao sees at most one login per ServiceAccount
//   (counted in its audit log), not a login storm;
// - OpenBao frozen (SIGSTOP): once a read has timed out, expired entries within
//   maxStaleSeconds come back stale before vault.timeoutMs, while one read per entry probes
//   Vault in the background; fresh again once it answers.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { cacheBrokerConfig, configureJwtAuth, getSecret, grantServiceAccount, newEncryptionKey, podToken, putKv2, sleep, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const NS = 'cache-outages'
const SERVICE_ACCOUNTS = Array.from({ length: 20 }, (_, index) => `app-${index}`)
const VAULT_TIMEOUT_MS = 2000
const REDIS_OUTAGE_MS = 60_000

let openbao: OpenBao
let redis: CacheRedis
let broker: ProcessBroker
const tokens = new Map<string, string>()

beforeAll(async () => {
  ;[openbao, redis] = await Promise.all([startOpenBao(), startCacheRedis()])
  await configureJwtAuth(openbao, { issuerUrl })
  for (const serviceAccount of SERVICE_ACCOUNTS) {
    await grantServiceAccount(openbao, { namespace: NS, serviceAccount, paths: [`secret/data/${NS}/*`] })
    tokens.set(serviceAccount, await podToken(issuerUrl, NS, serviceAccount))
  }
  await putKv2(openbao, `${NS}/config`, { value: 'v1' })
  broker = await startProcessBroker('node', {
    BROKER_CONFIG: JSON.stringify(
      cacheBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, namespace: NS, vaultTimeoutMs: VAULT_TIMEOUT_MS, cache: { kvTtlSeconds: 2, maxStaleSeconds: 600 } }),
    ),
    UPSTASH_REDIS_REST_URL: redis.shim.url,
    UPSTASH_REDIS_REST_TOKEN: redis.shim.token,
    CACHE_ENCRYPTION_KEY: newEncryptionKey(),
  })
}, 60_000)
afterAll(async () => {
  await broker?.stop()
  await Promise.all([openbao?.stop(), redis?.stop()])
})

const read = (serviceAccount: string) => getSecret(broker.url, `secret/data/${NS}/config`, tokens.get(serviceAccount)!)

describe('Redis stopped for 60 s under steady load from 20 ServiceAccounts', () => {
  it('costs OpenBao at most one login per ServiceAccount', async () => {
    const mark = await openbao.auditMark()
    for (const serviceAccount of SERVICE_ACCOUNTS) expect((await read(serviceAccount)).status).toBe(200)
    await redis.kill()
    const statuses = new Map<number, number>()
    const until = Date.now() + REDIS_OUTAGE_MS
    // Each ServiceAccount reads about twice a second; its KV entry is fresh for 2 s, so Vault is read throughout.
    await Promise.all(
      SERVICE_ACCOUNTS.map(async (serviceAccount) => {
        while (Date.now() < until) {
          const answer = await read(serviceAccount)
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          await sleep(500)
        }
      }),
    )
    await redis.start()
    expect([...statuses.keys()]).toEqual([200])
    expect(statuses.get(200)).toBeGreaterThan(SERVICE_ACCOUNTS.length * 60)
    // The entries expired many times over: OpenBao was read during the outage, with the tokens already held.
    expect(await openbao.countRequests({ path: `secret/data/${NS}/config`, since: mark })).toBeGreaterThan(SERVICE_ACCOUNTS.length * 2)
    for (const serviceAccount of SERVICE_ACCOUNTS) {
      expect(await openbao.countRequests({ path: 'auth/jwt/login', since: mark, metadata: { service_account_name: serviceAccount } })).toBeLessThanOrEqual(1)
    }
  }, REDIS_OUTAGE_MS + 60_000)
})

describe('OpenBao frozen', () => {
  it('serves expired entries as stale before vault.timeoutMs once a read has timed out, then fresh once it answers', async () => {
    const serviceAccounts = SERVICE_ACCOUNTS.slice(0, 3)
    // Redis is back (after the test above): entries read now are stored there again.
    for (const deadline = Date.now() + 15_000; ; await sleep(200)) {
      const ready = (await (await fetch(`${broker.url}/readyz`)).json()) as { cache: { state: string } }
      if (ready.cache.state === 'ok') break
      expect(Date.now()).toBeLessThan(deadline)
    }
    await sleep(2100)
    for (const serviceAccount of serviceAccounts) expect((await read(serviceAccount)).headers.get('x-cache')).toBe('miss')
    await sleep(2100) // past the 2 s freshness
    openbao.freeze()
    try {
      // The first read meets the frozen Vault and waits out the timeout, then is served stale.
      const first = await read(serviceAccounts[0]!)
      expect([first.status, first.headers.get('x-cache')]).toEqual([200, 'stale'])
      expect(first.ms).toBeGreaterThanOrEqual(VAULT_TIMEOUT_MS * 0.9)
      // From then on, every expired entry comes back at once, for every ServiceAccount.
      for (let round = 0; round < 3; round++) {
        for (const serviceAccount of serviceAccounts) {
          const answer = await read(serviceAccount)
          expect([answer.status, answer.headers.get('x-cache'), JSON.parse(answer.body)]).toEqual([200, 'stale', { value: 'v1' }])
          expect(answer.ms).toBeLessThan(VAULT_TIMEOUT_MS)
        }
      }
    } finally {
      openbao.thaw()
    }
    // Vault answers again: the background reads refill the entries (or the next read does).
    const deadline = Date.now() + 15_000
    for (;;) {
      const answer = await read(serviceAccounts[1]!)
      if (answer.headers.get('x-cache') !== 'stale') {
        expect(answer.status).toBe(200)
        break
      }
      expect(Date.now()).toBeLessThan(deadline)
      await sleep(200)
    }
  }, 60_000)
})

// Issue 13: the three read-then-write sequences of the cache, each with its interleaving forced.
// 1. The renewal job reads an entry and writes it back extended; a request's delete after Vault
//    denied the identity lands in between (a store that runs it between the read and the write).
// 2. A fill takes longer than its lock's lifetime (a real OpenBao behind a proxy that answers
//    slowly on the 403 → lookup-self → login → read retry path); a waiter in another process
//    must not find the lock gone and serve the old entry as stale while Vault is healthy.
// 3. The delete after a denial fails in Redis; the denied identity's entry must not come back
//    as stale when Vault then fails.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createApp, createServices } from '../../src/app.ts'
import { CacheUnavailableError, type CacheStore } from '../../src/cache/cache-store.ts'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createSealer } from '../../src/cache/seal.ts'
import { CACHE_FAULT_COOLDOWN_MS, createSecureCache } from '../../src/cache/secure-cache.ts'
import { createUpstashStore } from '../../src/cache/upstash-store.ts'
import { parseConfig, type Config } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { createSecretBroker } from '../../src/secret-broker.ts'
import { createLeaseRegistry } from '../../src/vault/lease-registry.ts'
import { renewServedLeases } from '../../src/vault/lease-renewer.ts'
import { createTokenSource } from '../../src/vault/token-source.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { startDelayingProxy, type DelayingProxy } from '../vault/support/delaying-proxy.ts'
import { authAnswer, createClock, createFakeVault, denied } from '../vault/support/fake-vault.ts'
import { cacheBrokerConfig, configureJwtAuth, grantServiceAccount, newEncryptionKey, podToken, putKv2, sleep, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const NS = 'cache-races'

/** A store whose next `get` of `key` runs `between` before it answers: whatever `between` does lands between a read and the write after it. */
function interleavingStore(inner: CacheStore) {
  let armed: { key: string; between: () => Promise<void> } | undefined
  const store: CacheStore = {
    ...inner,
    async get(key) {
      const value = await inner.get(key)
      if (armed?.key === key) {
        const { between } = armed
        armed = undefined
        await between()
      }
      return value
    },
  }
  return { store, arm: (key: string, between: () => Promise<void>) => void (armed = { key, between }) }
}

describe('the renewal job and a denial at the same moment', () => {
  it('does not bring back an entry a request dropped between the job reading and writing it', async () => {
    const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
    const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt', path: 'database/creds/app', kvTtlSeconds: 60 }
    const config = { vault: { timeoutMs: 1000 }, cache: { kvTtlSeconds: 60, maxStaleSeconds: 3600 } } as Config
    const clock = createClock()
    const fake = createFakeVault()
    fake.on(/^auth\/jwt\/login$/, () => authAnswer(3600))
    fake.on(/^auth\/token\/renew-self$/, (call) => authAnswer(3600, { token: call.token }))
    fake.on(/^sys\/capabilities-self$/, (call) => ({ data: { [(call.body as { paths: string[] }).paths[0]!]: ['read'] } }))
    fake.on(/^database\/creds\/app$/, () => ({ lease_id: 'database/creds/app/1', lease_duration: 60, renewable: true, data: { username: 'v-app' } }))
    fake.on(/^sys\/leases\/renew$/, () => ({ lease_id: 'database/creds/app/1', lease_duration: 60, renewable: true, data: null }))
    const sealer = await createSealer(undefined)
    const interleaving = interleavingStore(createMemoryStore(clock.now))
    const cache = createSecureCache(interleaving.store, sealer, { now: clock.now })
    const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
    const leases = createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 })
    const broker = createSecretBroker({ config, vault: fake.vault, cache, now: clock.now, tokens, leases })

    expect((await broker.getSecret(request)).cache).toBe('miss')
    clock.advance(45_000) // due for renewal
    // While the job holds what it read, Vault denies the identity and a request drops the entry.
    const parts = (await leases.records())[0]!.secretParts
    fake.on(/^database\/creds\/app$/, denied)
    interleaving.arm(await sealer.keyFor(JSON.stringify(['secret', ...parts])), async () => {
      await expect(broker.getSecret({ ...request, refresh: true })).rejects.toMatchObject({ status: 403 })
    })
    const report = await renewServedLeases({ vault: fake.vault, cache, tokens, leases, now: clock.now, config: { intervalSeconds: 1, idleSeconds: 900 } })
    expect(report).toMatchObject({ renewed: 1 })

    expect(await cache.get('secret', parts, { shared: true })).toBeUndefined()
    // Another process on the same store (no memory of the denial) with Vault failing: nothing to serve.
    fake.on(/^database\/creds\/app$/, () => {
      throw new AppError(503, 'vault_unavailable', 'Vault is unavailable.')
    })
    const other = createSecretBroker({ config, vault: fake.vault, cache: createSecureCache(interleaving.store, sealer, { now: clock.now }), now: clock.now, tokens, leases })
    await expect(other.getSecret(request)).rejects.toMatchObject({ status: 503 })
  })
})

describe('real OpenBao behind a proxy, Redis shared by two broker processes', () => {
  // An OpenBao of its own: the test revokes every token its jwt mount issued.
  let openbao: OpenBao
  let redis: CacheRedis
  let proxy: DelayingProxy
  const ENCRYPTION_KEY = newEncryptionKey()
  const VAULT_TIMEOUT_MS = 3000
  const PROXY_DELAY_MS = 1400

  beforeAll(async () => {
    ;[openbao, redis] = await Promise.all([startOpenBao(), startCacheRedis()])
    await configureJwtAuth(openbao, { issuerUrl })
    const { hostname, port } = new URL(openbao.address)
    proxy = await startDelayingProxy({ host: hostname, port: Number(port) })
    for (const serviceAccount of ['slow', 'denied']) await grantServiceAccount(openbao, { namespace: NS, serviceAccount, paths: [`secret/data/${NS}/*`] })
    await putKv2(openbao, `${NS}/config`, { value: 'v1' })
  })
  afterAll(async () => {
    await proxy?.stop()
    await Promise.all([redis?.stop(), openbao?.stop()])
  })

  /** A broker "process" in this one: its own app, services and memory, sharing Redis and the key. */
  async function brokerProcess(clock: { ms: number }, options: { vaultDown?: { value: boolean }; store?: (store: CacheStore) => CacheStore } = {}) {
    const config = parseConfig(
      JSON.stringify(cacheBrokerConfig({ issuerUrl, openbaoAddr: proxy.url, namespace: NS, vaultTimeoutMs: VAULT_TIMEOUT_MS, cache: { kvTtlSeconds: 1, maxStaleSeconds: 3600 } })),
    )
    const upstash = createUpstashStore({ url: redis.shim.url, token: redis.shim.token })
    const now = () => clock.ms
    const cache = createSecureCache(options.store ? options.store(upstash) : upstash, await createSealer(ENCRYPTION_KEY), { now })
    const vaultFetch: typeof fetch = async (input, init) => {
      if (options.vaultDown?.value) throw new TypeError('fetch failed')
      return fetch(input, init)
    }
    const app = createApp(createServices({ config, fetch: vaultFetch, cache, now, log: createMemoryLogger() }))
    return async (token: string) => {
      const response = await app.request(`/v1/secrets/secret/data/${NS}/config`, { headers: { Authorization: `Bearer ${token}` } })
      return { status: response.status, cache: response.headers.get('x-cache'), body: await response.text() }
    }
  }

  it('keeps a fill lock while a slow fill on the retry path runs, so the waiter serves its fresh entry, not a stale one', async () => {
    const clock = { ms: Date.now() }
    const [first, second] = [await brokerProcess(clock), await brokerProcess(clock)]
    const token = await podToken(issuerUrl, NS, 'slow')
    expect((await first(token)).cache).toBe('miss')
    expect((await second(token)).cache).toBe('hit')
    // The entry expires, and the cached Vault token is revoked behind the brokers' backs: the next
    // fill reads (403), asks lookup-self, logs in again and reads again — four slow answers.
    clock.ms += 2000
    await openbao.apiOk('PUT', 'sys/leases/revoke-prefix/auth/jwt/login')
    proxy.setDelay(PROXY_DELAY_MS)
    try {
      const mark = await openbao.auditMark()
      const filling = first(token)
      await sleep(200)
      const waiting = second(token)
      const [filled, waited] = await Promise.all([filling, waiting])
      expect(filled).toMatchObject({ status: 200, cache: 'miss' })
      // The fill outlived the lock's first lifetime (one Vault timeout and 2 s): the waiter still got its answer.
      expect(waited).toMatchObject({ status: 200, cache: 'hit' })
      expect(await openbao.countRequests({ path: `secret/data/${NS}/config`, since: mark })).toBe(2)
    } finally {
      proxy.setDelay(0)
    }
  }, 30_000)

  it('never serves a denied identity its entry as stale, even when Redis failed the delete after the denial', async () => {
    const clock = { ms: Date.now() }
    const vaultDown = { value: false }
    let failDeletes = false
    const failingDelete = (store: CacheStore): CacheStore => ({
      ...store,
      delete: async (key) => {
        if (failDeletes) throw new CacheUnavailableError('Redis DEL failed')
        return store.delete(key)
      },
    })
    const read = await brokerProcess(clock, { vaultDown, store: failingDelete })
    const token = await podToken(issuerUrl, NS, 'denied')
    expect(await read(token)).toMatchObject({ status: 200, cache: 'miss' })
    // Vault no longer lets this ServiceAccount read the path; the entry expires; Redis fails every DEL.
    await grantServiceAccount(openbao, { namespace: NS, serviceAccount: 'denied', paths: [`secret/data/${NS}/nothing-here`] })
    clock.ms += 2000
    failDeletes = true
    expect(await read(token)).toMatchObject({ status: 403 })
    // Vault fails now; the entry is still in Redis (past the fault's cool-down the store is asked again).
    vaultDown.value = true
    for (let i = 0; i < 3; i++) {
      clock.ms += CACHE_FAULT_COOLDOWN_MS
      const answer = await read(token)
      expect(answer.status).toBe(503)
      expect(answer.body).not.toContain('v1')
    }
  })
})

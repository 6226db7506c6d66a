// SPEC §5 storms: when a Deployment rolls, its pods ask at once. 200 pods of one ServiceAccount,
// through two broker processes sharing Redis, must cost OpenBao one login and one read — counted
// in OpenBao's own audit log, not by the broker.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createSealer } from '../../src/cache/seal.ts'
import { createSecureCache } from '../../src/cache/secure-cache.ts'
import { createUpstashStore } from '../../src/cache/upstash-store.ts'
import { identityScope } from '../../src/identity/identity.ts'
import { decodeJwt } from '../support/mint.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { cacheBrokerConfig, configureJwtAuth, getSecret, grantServiceAccount, newEncryptionKey, podToken, putKv2, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const NS = 'cache-storm'
const PATH = `secret/data/${NS}/config`
const PODS = 200
const ENCRYPTION_KEY = newEncryptionKey()
// Vault calls time out after 1 s, so a waiter waits at most the longest fill: five Vault calls
// and 2 s for Redis (MAX_VAULT_CALLS_PER_FILL in secret-broker.ts), 7 s.
const VAULT_TIMEOUT_MS = 1000
const FILL_WAIT_MS = 7000

let openbao: OpenBao
let redis: CacheRedis
let brokers: ProcessBroker[] = []

beforeAll(async () => {
  ;[openbao, redis] = await Promise.all([startOpenBao(), startCacheRedis()])
  await configureJwtAuth(openbao, { issuerUrl })
  await grantServiceAccount(openbao, { namespace: NS, serviceAccount: 'app', paths: [`secret/data/${NS}/*`] })
  await putKv2(openbao, `${NS}/config`, { api_key: 'storm-value' })
  await putKv2(openbao, `${NS}/second`, { api_key: 'second-value' })
  const env = {
    BROKER_CONFIG: JSON.stringify(cacheBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, namespace: NS, vaultTimeoutMs: VAULT_TIMEOUT_MS })),
    UPSTASH_REDIS_REST_URL: redis.shim.url,
    UPSTASH_REDIS_REST_TOKEN: redis.shim.token,
    CACHE_ENCRYPTION_KEY: ENCRYPTION_KEY,
  }
  brokers = await Promise.all([startProcessBroker('node', env), startProcessBroker('node', env)])
})
afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.stop()))
  await Promise.all([openbao?.stop(), redis?.stop()])
})

async function storm(path: string, prefix: string) {
  const tokens = await Promise.all(Array.from({ length: PODS }, (_, i) => podToken(issuerUrl, NS, 'app', `${prefix}-${i}`)))
  // Each broker verifies a token first (a path its rules refuse, so Vault is not asked): the
  // storm then reaches both at once, not one still fetching the cluster's JWKS.
  for (const broker of brokers) expect((await getSecret(broker.url, 'secret/data/not-in-any-rule', tokens[0]!)).status).toBe(403)
  const answers = await Promise.all(tokens.map((token, i) => getSecret(brokers[i % brokers.length]!.url, path, token)))
  const byCache: Record<string, number> = {}
  for (const answer of answers) byCache[answer.headers.get('x-cache') ?? String(answer.status)] = (byCache[answer.headers.get('x-cache') ?? String(answer.status)] ?? 0) + 1
  return { answers, byCache }
}

describe(`${PODS} pods of one ServiceAccount starting at once, through two broker processes`, () => {
  it('cost OpenBao one login and one read', async () => {
    const mark = await openbao.auditMark()
    const { answers, byCache } = await storm(PATH, 'app-a')
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(answers.every((answer) => JSON.parse(answer.body).api_key === 'storm-value')).toBe(true)
    expect(byCache).toEqual({ miss: 1, hit: PODS - 1 })
    expect(await openbao.countRequests({ path: 'auth/jwt/login', since: mark })).toBe(1)
    expect(await openbao.countRequests({ path: PATH, since: mark })).toBe(1)
    // Nothing else reached OpenBao on their behalf.
    expect(await openbao.countRequests({ since: mark })).toBe(2)
  })

  it('cost one read and no login for another path once the Vault token is cached', async () => {
    const mark = await openbao.auditMark()
    const { answers, byCache } = await storm(`secret/data/${NS}/second`, 'app-b')
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(byCache).toEqual({ miss: 1, hit: PODS - 1 })
    expect(await openbao.countRequests({ path: 'auth/jwt/login', since: mark })).toBe(0)
    expect(await openbao.countRequests({ path: `secret/data/${NS}/second`, since: mark })).toBe(1)
  })

})

describe('the fill lock shared through Redis', () => {
  it('makes a waiter whose lock holder never finishes (a crashed process) wait no longer than the bound, then read Vault itself', async () => {
    await putKv2(openbao, `${NS}/orphaned`, { api_key: 'orphaned-value' })
    const token = await podToken(issuerUrl, NS, 'app', 'app-orphan')
    const claims = decodeJwt(token).payload['kubernetes.io'] as { serviceaccount: { uid: string } }
    const identity = { cluster: 'local', namespace: NS, serviceAccount: 'app', serviceAccountUid: claims.serviceaccount.uid, pod: undefined, podUid: undefined }
    // The lock a broker takes before filling this entry, taken here and never released.
    const cache = createSecureCache(createUpstashStore({ url: redis.shim.url, token: redis.shim.token }), await createSealer(ENCRYPTION_KEY))
    const parts = [identityScope(identity), 'jwt', `${NS}-app`, `secret/data/${NS}/orphaned`, '']
    expect((await cache.claim('lock', parts, { atMs: Date.now() }, 60)).result).toBe('acquired')

    const mark = await openbao.auditMark()
    const answer = await getSecret(brokers[0]!.url, `secret/data/${NS}/orphaned`, token)
    expect([answer.status, answer.headers.get('x-cache'), JSON.parse(answer.body)]).toEqual([200, 'miss', { api_key: 'orphaned-value' }])
    expect(answer.ms).toBeGreaterThanOrEqual(FILL_WAIT_MS - 250)
    expect(answer.ms).toBeLessThan(FILL_WAIT_MS + 3000)
    expect(await openbao.countRequests({ path: `secret/data/${NS}/orphaned`, since: mark })).toBe(1)
  })
})

// A pod whose rule glob is wider than its Vault policy asks, again and again, for a path Vault
// denies. Each login makes Vault store a new token for its whole TTL, so a denial must not cost
// a login: only a revoked token (or one old enough that the role's policies may have changed)
// is replaced.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { createTokenSource, DENIED_RELOGIN_INTERVAL_SECONDS } from '../../src/vault/token-source.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { authAnswer, createClock, createFakeVault, createTestCache, denied } from '../vault/support/fake-vault.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: Broker
let token: string
const vaultRequests: string[] = []

beforeAll(async () => {
  const config = demoBrokerConfig({ issuerUrl, openbaoAddr })
  // The rule lets demo/myapp ask for all of secret/data/*; its policy reads only secret/data/myapp/*.
  config.rules[0] = { ...config.rules[0]!, paths: ['secret/data/*'] }
  const recording: typeof fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    if (url.startsWith(openbaoAddr)) vaultRequests.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`)
    return fetch(input, init)
  }
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(config) }, { fetch: recording, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

const read = (path: string) => broker.app.request(`/v1/secrets/${path}`, { headers: { Authorization: `Bearer ${token}` } })

describe('denied paths and Vault logins', () => {
  it('answers repeated reads of a path Vault denies with 403 and one login in all, not one per request', async () => {
    expect((await read('secret/data/myapp/config')).status).toBe(200)
    vaultRequests.length = 0
    for (let i = 0; i < 10; i++) {
      const response = await read('secret/data/other-team/db')
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({ code: 'vault_denied' })
    }
    expect(vaultRequests.filter((request) => request === 'POST /v1/auth/jwt/login')).toEqual([])
    // The pod's good token was kept for the paths it may read.
    expect((await read('secret/data/myapp/config')).status).toBe(200)
    expect(vaultRequests.filter((request) => request === 'POST /v1/auth/jwt/login')).toEqual([])
  })

  it('still replaces a token Vault no longer knows, and swaps an old one at most once per interval', async () => {
    const clock = createClock()
    const fake = createFakeVault()
    const revoked = new Set<string>()
    fake.on(/^auth\/jwt\/login$/, () => authAnswer(3600))
    fake.on(/^auth\/token\/lookup-self$/, (call) => (revoked.has(call.token!) ? denied() : { data: {} }))
    fake.on(/^secret\/data\/mine$/, (call) => (revoked.has(call.token!) ? denied() : { data: { ok: true } }))
    fake.on(/^secret\/data\/theirs$/, denied)
    const tokens = createTokenSource({ vault: fake.vault, cache: await createTestCache(clock.now), now: clock.now })
    const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid', pod: 'p', podUid: 'pu' }
    const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt' }
    const readPath = (path: string) => tokens.withToken(request, (login) => fake.vault('GET', path, { token: login.token }))

    const first = (await tokens.withToken(request, async (login) => login.token)) as string
    for (let i = 0; i < 5; i++) await expect(readPath('secret/data/theirs')).rejects.toMatchObject({ status: 403 })
    expect(fake.count(/login/)).toBe(1)

    // Past the interval, one denial swaps the token (policies may have changed), the next ones do not.
    clock.advance((DENIED_RELOGIN_INTERVAL_SECONDS + 1) * 1000)
    for (let i = 0; i < 5; i++) await expect(readPath('secret/data/theirs')).rejects.toMatchObject({ status: 403 })
    expect(fake.count(/login/)).toBe(2)

    // Revoked behind the broker's back: the next read logs in once and succeeds.
    const current = (await tokens.withToken(request, async (login) => login.token)) as string
    expect(current).not.toBe(first)
    revoked.add(current)
    await expect(readPath('secret/data/mine')).resolves.toEqual({ data: { ok: true } })
    expect(fake.count(/login/)).toBe(3)
  })
})

// How long the broker keeps a leased secret (secret-broker.ts): until shortly before the lease
// ends, and never past the end of the Vault token that holds the lease, which Vault revokes
// with it. A scripted Vault and a fake clock (the same against OpenBao and PostgreSQL:
// test/vault/lease-renewal.test.ts).
import { describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { createSecretBroker } from '../../src/secret-broker.ts'
import { createLeaseRegistry } from '../../src/vault/lease-registry.ts'
import { createTokenSource } from '../../src/vault/token-source.ts'
import { authAnswer, createClock, createFakeVault, createTestCache } from '../vault/support/fake-vault.ts'

const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt', path: 'database/creds/app', kvTtlSeconds: 60 }
const config = { vault: { timeoutMs: 1000 }, cache: { kvTtlSeconds: 60, maxStaleSeconds: 3600 } } as Config

async function setUp(token: { ttlSeconds: number; renewable: boolean }, readTakesMs = 0) {
  const clock = createClock()
  const fake = createFakeVault()
  fake.on(/^auth\/jwt\/login$/, () => authAnswer(token.ttlSeconds, { renewable: token.renewable }))
  let leases = 0
  fake.on(/^database\/creds\/app$/, () => {
    clock.advance(readTakesMs)
    leases++
    return { lease_id: `database/creds/app/${leases}`, lease_duration: 60, renewable: true, data: { username: `v-app-${leases}` } }
  })
  const cache = await createTestCache(clock.now)
  const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
  const registry = createLeaseRegistry({ cache, now: clock.now, throttleMs: 1000 })
  const broker = createSecretBroker({ config, vault: fake.vault, cache, now: clock.now, tokens, leases: registry })
  return { clock, fake, broker }
}

describe('a leased secret in the cache', () => {
  it('is timed from when the read was sent: Vault starts the lease while answering', async () => {
    const { clock, broker } = await setUp({ ttlSeconds: 3600, renewable: true }, 2000)
    const sent = clock.now()
    const result = await broker.getSecret(request)
    expect(result.leaseExpiresAtMs).toBe(sent + 60_000)
    expect(result.freshUntilMs).toBe(sent + 50_000)
  })

  it('is served no longer than the Vault token that holds the lease, not even as stale', async () => {
    const { clock, fake, broker } = await setUp({ ttlSeconds: 40, renewable: false })
    const start = clock.now()
    const first = await broker.getSecret(request)
    expect(first.leaseExpiresAtMs).toBe(start + 40_000)
    expect(first.read.secret.lease_duration).toBe(60)

    clock.advance(33_000)
    const next = await broker.getSecret(request)
    expect([next.cache, next.read.values.username]).toEqual(['miss', 'v-app-2'])

    // Past the first token's end, with Vault failing: an error, never the revoked credentials.
    fake.on(/^database\/creds\/app$/, () => {
      throw new AppError(503, 'vault_unavailable', 'Vault is unavailable.')
    })
    clock.advance(40_000)
    await expect(broker.getSecret(request)).rejects.toMatchObject({ status: 503 })
  })
})

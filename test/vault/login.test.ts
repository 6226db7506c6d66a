// Which auth method and mount a cluster's pods log in with (SPEC §4, §7).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { loginWithServiceAccountToken, renewToken, vaultAuthFor } from '../../src/vault/login.ts'
import { authAnswer, createClock, createFakeVault } from './support/fake-vault.ts'

const configWith = (vault: Record<string, unknown>, cluster: Record<string, unknown> = {}) =>
  parseConfig(
    JSON.stringify({
      clusters: [{ name: 'prod', issuer: 'https://issuer.example.com', audiences: ['vault-edge'], ...cluster }],
      vault: { address: 'https://vault.example.com', ...vault },
      rules: [{ role: 'any', paths: ['*'] }],
    }),
  )

const authOf = (vault: Record<string, unknown>, cluster: Record<string, unknown> = {}) => {
  const config = configWith(vault, cluster)
  return vaultAuthFor(config, config.clusters[0]!)
}

describe('vault auth method and mount per cluster', () => {
  it.each([
    [{}, {}, { method: 'jwt', mount: 'jwt' }],
    [{ authMethod: 'kubernetes' }, {}, { method: 'kubernetes', mount: 'kubernetes' }],
    [{ authMount: 'jwt-edge' }, {}, { method: 'jwt', mount: 'jwt-edge' }],
    [{}, { vaultAuthMount: 'jwt-prod' }, { method: 'jwt', mount: 'jwt-prod' }],
    [{}, { vaultAuthMethod: 'kubernetes' }, { method: 'kubernetes', mount: 'kubernetes' }],
    [{ authMount: 'jwt-edge' }, { vaultAuthMethod: 'kubernetes' }, { method: 'kubernetes', mount: 'kubernetes' }],
    [{ authMount: 'jwt-edge' }, { vaultAuthMethod: 'jwt' }, { method: 'jwt', mount: 'jwt-edge' }],
    [{}, { vaultAuthMethod: 'kubernetes', vaultAuthMount: 'k8s-prod' }, { method: 'kubernetes', mount: 'k8s-prod' }],
  ])('vault %j, cluster %j → %j', (vault, cluster, expected) => {
    expect(authOf(vault, cluster)).toEqual(expected)
  })

  it("a cluster's own mount always wins", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
    fc.assert(
      fc.property(fc.constantFrom('jwt', 'kubernetes'), fc.option(fc.constantFrom('jwt', 'kubernetes'), { nil: undefined }), fc.option(name, { nil: undefined }), name, (globalMethod, clusterMethod, globalMount, clusterMount) => {
        const auth = authOf({ authMethod: globalMethod, ...(globalMount ? { authMount: globalMount } : {}) }, { vaultAuthMount: clusterMount, ...(clusterMethod ? { vaultAuthMethod: clusterMethod } : {}) })
        expect(auth).toEqual({ method: clusterMethod ?? globalMethod, mount: clusterMount })
      }),
    )
  })

  it('fills the renewal defaults: the job every 60 s, idle after 15 min', () => {
    expect(configWith({}).vault.leaseRenewal).toEqual({ intervalSeconds: 60, idleSeconds: 900 })
  })
})

describe('tokens Vault issues', () => {
  it('times a token from when the login or renewal was sent, not from when Vault answered', async () => {
    const clock = createClock()
    const fake = createFakeVault()
    // Vault takes 3 s to answer; the TTL started when it took the request.
    fake.on(/^auth\/jwt\/login$|renew-self$/, () => (clock.advance(3000), authAnswer(60)))
    const sent = clock.now()
    const login = await loginWithServiceAccountToken(fake.vault, { mount: 'jwt', role: 'app', jwt: 'eyJ.pod.jwt', now: clock.now })
    expect(login.issuedAtMs).toBe(sent)
    const renewedAt = clock.now()
    expect((await renewToken(fake.vault, login, { incrementSeconds: 60, now: clock.now })).issuedAtMs).toBe(renewedAt)
  })

  it.each([undefined, null, 'a minute', -1, Number.NaN])('answers 502 to a login whose TTL is %j, so that no expiry is computed from it', async (ttl) => {
    const fake = createFakeVault()
    fake.on(/login$/, () => ({ auth: { ...authAnswer(60).auth, lease_duration: ttl } }))
    await expect(loginWithServiceAccountToken(fake.vault, { mount: 'jwt', role: 'app', jwt: 'eyJ.pod.jwt', now: Date.now })).rejects.toMatchObject({ status: 502, code: 'vault_error' })
  })
})

// SPEC §5 leases, with the Node/Deno timer: a dynamic secret with a 6 s lease stays the same
// and keeps logging in to PostgreSQL across several lease terms while pods keep asking for
// it, every response saying when it now expires; once nobody asks, it is left to expire and
// Vault drops the PostgreSQL role.
import { describe, expect, it } from 'vitest'
import { renewLeasesNow } from '../../src/vault/vault-sessions.ts'
import { writePolicy } from '../support/seed-openbao.ts'
import { mountDatabaseEngine } from './support/database-engine.ts'
import { useLeaseRenewalBroker } from './support/lease-renewal-broker.ts'
import { brokerConfig, createJwtRole, eventually, podToken, startTestBroker, targetOf, unique, sharedStack, type TestBroker } from './support/vault-stack.ts'

const LEASE_SECONDS = 6
const IDLE_SECONDS = 3
const { openbao } = sharedStack()
const stack = useLeaseRenewalBroker({ leaseSeconds: LEASE_SECONDS, idleSeconds: IDLE_SECONDS })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('lease renewal on Node (timer)', () => {
  it('keeps a served 6 s lease alive across several terms, then lets it expire once idle', async () => {
    const { engine, broker } = stack
    const token = await podToken({ serviceAccount: engine.serviceAccount })
    const started = Date.now()
    const seen = new Set<string>()
    const expiries: number[] = []
    let creds: { username: string; password: string } | undefined
    // Serve it once a second for three and a half lease terms.
    while (Date.now() - started < 3.5 * LEASE_SECONDS * 1000) {
      const response = await broker.call(`/v1/secrets/${engine.credsPath}`, token)
      expect(response.status).toBe(200)
      creds = (await response.json()) as { username: string; password: string }
      seen.add(creds.username)
      const expires = Date.parse(response.headers.get('x-vault-lease-expires')!)
      expect(expires).toBeGreaterThan(Date.now())
      expiries.push(expires)
      expect(await engine.database.loginAs(creds.username, creds.password)).toBe(creds.username)
      await sleep(1000)
    }
    expect(seen.size).toBe(1)
    // The header follows the renewals: the last response's expiry lies past the first lease's end.
    expect(expiries.at(-1)! - expiries[0]!).toBeGreaterThan(2 * LEASE_SECONDS * 1000)
    const validUntil = await engine.database.validUntil(creds!.username)
    expect(validUntil!.getTime()).toBeGreaterThan(Date.now())
    const renewals = broker.log.lines.filter((line) => line.includes('"msg":"lease renewal"'))
    expect(renewals.length).toBeGreaterThanOrEqual(3)

    // Nobody asks any more: not renewed after IDLE_SECONDS, gone at Vault (and PostgreSQL) once the lease ends.
    const idleSince = Date.now()
    const dropped = await eventually(async () => (await engine.database.validUntil(creds!.username)) === undefined, (IDLE_SECONDS + LEASE_SECONDS + 8) * 1000, 250)
    expect(dropped).toBe(true)
    expect(Date.now() - idleSince).toBeGreaterThan(IDLE_SECONDS * 1000)
    await expect(engine.database.loginAs(creds!.username, creds!.password)).rejects.toThrow()
    expect(broker.log.lines.some((line) => line.includes('lease idle'))).toBe(true)
  })
})

describe('a lease held by a Vault token that ends first', () => {
  it('is served no longer than that token lives, then new credentials that work are read', async () => {
    // Tokens of 4 s that cannot be renewed, credentials leased for 30 s: OpenBao revokes the
    // lease (and PostgreSQL drops the role) when the token expires, not when the lease would.
    const engine = await mountDatabaseEngine(openbao, { ttl: '30s', maxTtl: '2m' })
    try {
      const serviceAccount = unique('short-token')
      await createJwtRole(targetOf(openbao), {
        role: serviceAccount,
        serviceAccount,
        policy: `path "${engine.mount}/creds/app" { capabilities = ["read"] }\n`,
        ttl: '4s',
        extra: { token_max_ttl: '4s' },
      })
      const own = await startTestBroker(
        brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', namespace: 'vault-tests', serviceAccount, role: serviceAccount, paths: [`${engine.mount}/creds/*`] }] }),
      )
      const token = await podToken({ serviceAccount })
      const sent = Date.now()
      const first = await own.call(`/v1/secrets/${engine.mount}/creds/app`, token)
      expect(first.status).toBe(200)
      const creds = (await first.json()) as { username: string; password: string }
      expect(first.headers.get('x-vault-lease-duration')).toBe('30')
      const expires = Date.parse(first.headers.get('x-vault-lease-expires')!)
      expect(expires).toBeLessThanOrEqual(sent + 4000 + 1000)

      expect(await eventually(async () => (await engine.database.validUntil(creds.username)) === undefined, 10_000, 250)).toBe(true)
      expect(Date.now()).toBeGreaterThanOrEqual(expires - 1000)
      const next = await own.call(`/v1/secrets/${engine.mount}/creds/app`, token)
      expect([next.status, next.headers.get('x-cache')]).toEqual([200, 'miss'])
      const fresh = (await next.json()) as { username: string; password: string }
      expect(fresh.username).not.toBe(creds.username)
      expect(await engine.database.loginAs(fresh.username, fresh.password)).toBe(fresh.username)
    } finally {
      await engine.cleanUp()
    }
  })
})

describe('a lease whose identity loses access to its path', () => {
  it('is not renewed, and its cached credentials are dropped so that the next request gets Vault\'s 403', async () => {
    // Due at once: a 2-minute lease is within two 60 s runs of its end.
    const engine = await mountDatabaseEngine(openbao, { ttl: '2m', maxTtl: '10m' })
    try {
      const serviceAccount = unique('revoked-policy')
      const target = targetOf(openbao)
      await createJwtRole(target, { role: serviceAccount, serviceAccount, policy: `path "${engine.mount}/creds/app" { capabilities = ["read"] }\n` })
      const own = await startTestBroker(
        brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', namespace: 'vault-tests', serviceAccount, role: serviceAccount, paths: [`${engine.mount}/creds/*`] }] }),
      )
      const token = await podToken({ serviceAccount })
      expect((await own.call(`/v1/secrets/${engine.mount}/creds/app`, token)).status).toBe(200)
      expect((await own.call(`/v1/secrets/${engine.mount}/creds/app`, token)).headers.get('x-cache')).toBe('hit')

      // The operator takes the path out of the role's policy; the pod's Vault token stays valid.
      await writePolicy(target, serviceAccount, `path "${engine.mount}/creds/other" { capabilities = ["read"] }\n`)
      const since = await openbao.auditMark()
      expect(await renewLeasesNow(own.services)).toMatchObject({ gone: 1, renewed: 0 })
      expect(await openbao.countRequests({ since, path: 'sys/leases/renew' })).toBe(0)

      const denied = await own.call(`/v1/secrets/${engine.mount}/creds/app`, token)
      expect(denied.status).toBe(403)
      expect(await denied.json()).toMatchObject({ code: 'vault_denied' })
    } finally {
      await engine.cleanUp()
    }
  })
})

// The pod tokens the broker holds: one login per identity and role, reused; renewed while in
// use; and when OpenBao's token is revoked behind the broker's back, exactly one new login.
// Counted in OpenBao's own audit log: every token carries the pod name (claim_mappings), and
// each test mints tokens for a pod of its own.
import { beforeAll, describe, expect, it } from 'vitest'
import { putKv2 } from '../support/seed-openbao.ts'
import type { AuditFilter } from '../support/openbao.ts'
import { brokerConfig, createJwtRole, podToken, sharedStack, startTestBroker, targetOf, unique, type TestBroker } from './support/vault-stack.ts'

const { openbao } = sharedStack()
const target = targetOf(openbao)
const serviceAccount = unique('tokens')
const shortLived = unique('tokens-short')
const base = `vault-tests/${serviceAccount}`
let broker: TestBroker

const policy = (sa: string) => `
path "secret/data/vault-tests/${sa}/*" { capabilities = ["read"] }
`

beforeAll(async () => {
  for (const name of ['a', 'b', 'c', 'd', 'e']) await putKv2(target, `${base}/${name}`, { name })
  await putKv2(target, `vault-tests/${shortLived}/a`, { name: 'a' })
  await putKv2(target, `vault-tests/${shortLived}/b`, { name: 'b' })
  await createJwtRole(target, { role: serviceAccount, serviceAccount, policy: policy(serviceAccount) })
  // Tokens of 8 s, renewable up to a minute: renewal happens within a test.
  await createJwtRole(target, { role: shortLived, serviceAccount: shortLived, policy: policy(shortLived), ttl: '8s', extra: { token_max_ttl: '60s' } })
  broker = await startTestBroker(
    brokerConfig({
      openbaoAddr: openbao.address,
      rules: [{ cluster: 'local', namespace: 'vault-tests', role: '{serviceAccount}', paths: ['secret/data/vault-tests/*'] }],
    }),
  )
})

/** Audit entries of one pod since `mark`: its logins, reads and renewals. */
const countFor = async (pod: string, filter: AuditFilter) => openbao.countRequests({ ...filter, metadata: { pod_name: pod } })

describe('Vault tokens per identity and role', () => {
  it('logs in once for many reads of one pod', async () => {
    const pod = unique('pod')
    const token = await podToken({ serviceAccount, pod })
    const since = await openbao.auditMark()
    for (const name of ['a', 'b', 'c']) expect((await broker.call(`/v1/secrets/secret/data/${base}/${name}`, token)).status).toBe(200)
    expect(await countFor(pod, { since, path: 'auth/jwt/login' })).toBe(1)
    expect(await countFor(pod, { since, path: /^secret\/data\// })).toBe(3)
  })

  it('makes one login for concurrent first requests of one identity', async () => {
    const pod = unique('pod')
    const token = await podToken({ serviceAccount, pod })
    // A broker of its own: nothing cached for this identity yet.
    const fresh = await startTestBroker(
      brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', namespace: 'vault-tests', role: '{serviceAccount}', paths: ['secret/data/vault-tests/*'] }] }),
    )
    const since = await openbao.auditMark()
    const responses = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => fresh.call(`/v1/secrets/secret/data/${base}/${name}`, token)))
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200])
    expect(await countFor(pod, { since, path: 'auth/jwt/login' })).toBe(1)
  })

  it('after OpenBao revokes the token behind its back, the next request still succeeds with exactly one new login', async () => {
    const pod = unique('pod')
    const token = await podToken({ serviceAccount, pod })
    const fresh = await startTestBroker(
      brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', namespace: 'vault-tests', role: '{serviceAccount}', paths: ['secret/data/vault-tests/*'] }] }),
    )
    expect((await fresh.call(`/v1/secrets/secret/data/${base}/a`, token)).status).toBe(200)
    const held = await fresh.vaultTokenOf(token, 'local', 'jwt', serviceAccount)
    expect(held).toBeDefined()

    await openbao.apiOk('POST', 'auth/token/revoke-accessor', { accessor: held!.accessor })
    const since = await openbao.auditMark()
    const response = await fresh.call(`/v1/secrets/secret/data/${base}/b`, token)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ name: 'b' })

    expect(await countFor(pod, { since, path: 'auth/jwt/login' })).toBe(1)
    // The refused read with the revoked token, then the read with the new one.
    expect(await openbao.countRequests({ since, path: `secret/data/${base}/b`, error: true })).toBe(1)
    expect(await countFor(pod, { since, path: `secret/data/${base}/b`, error: false })).toBe(1)
    const replaced = await fresh.vaultTokenOf(token, 'local', 'jwt', serviceAccount)
    expect(replaced?.accessor).not.toBe(held!.accessor)

    // And the new token is reused from then on.
    const later = await openbao.auditMark()
    expect((await fresh.call(`/v1/secrets/secret/data/${base}/c`, token)).status).toBe(200)
    expect(await countFor(pod, { since: later, path: 'auth/jwt/login' })).toBe(0)
  })

  it('passes a 403 on without a new login when Vault denies the path itself and the token still stands', async () => {
    const pod = unique('pod')
    const token = await podToken({ serviceAccount, pod })
    const fresh = await startTestBroker(
      brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', namespace: 'vault-tests', role: '{serviceAccount}', paths: ['secret/data/vault-tests/*'] }] }),
    )
    expect((await fresh.call(`/v1/secrets/secret/data/${base}/a`, token)).status).toBe(200)
    const since = await openbao.auditMark()
    const response = await fresh.call(`/v1/secrets/secret/data/vault-tests/${shortLived}/a`, token)
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'vault_denied' })
    // The token is young and auth/token/lookup-self says it stands: the denial is about the path.
    expect(await countFor(pod, { since, path: 'auth/jwt/login' })).toBe(0)
  })
})

describe('renewal of tokens in use', () => {
  it('renews a renewable token past half its TTL instead of logging in again', async () => {
    const pod = unique('pod')
    const token = await podToken({ serviceAccount: shortLived, pod })
    const since = await openbao.auditMark()
    expect((await broker.call(`/v1/secrets/secret/data/vault-tests/${shortLived}/a`, token)).status).toBe(200)
    const first = await broker.vaultTokenOf(token, 'local', 'jwt', shortLived)
    expect(first).toMatchObject({ ttlSeconds: 8, renewable: true })

    await new Promise((resolve) => setTimeout(resolve, 4500))
    expect((await broker.call(`/v1/secrets/secret/data/vault-tests/${shortLived}/b`, token)).status).toBe(200)
    expect(await countFor(pod, { since, path: 'auth/token/renew-self' })).toBe(1)
    expect(await countFor(pod, { since, path: 'auth/jwt/login' })).toBe(1)
    const renewed = await broker.vaultTokenOf(token, 'local', 'jwt', shortLived)
    expect(renewed?.accessor).toBe(first!.accessor)
    expect(renewed!.issuedAtMs).toBeGreaterThan(first!.issuedAtMs + 4000)

    // OpenBao agrees: the token lives 8 s from the renewal.
    const lookup = await openbao.apiOk('POST', 'auth/token/lookup-accessor', { accessor: first!.accessor })
    expect(lookup.data.ttl).toBeGreaterThan(5)
  })
})

// Every engine users of the Vault Agent Injector read, through the broker against the real
// OpenBao: KV v2 (versions, metadata), KV v1, dynamic PostgreSQL credentials (which really log
// in, and stop working once revoked), and PKI certificates issued through POST.
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enableSecrets, putKv2 } from '../support/seed-openbao.ts'
import { mountDatabaseEngine } from './support/database-engine.ts'
import type { TestDatabase } from './support/postgres.ts'
import { brokerConfig, createJwtRole, podToken, sharedStack, startTestBroker, targetOf, unique, type TestBroker } from './support/vault-stack.ts'

const { openbao } = sharedStack()
const target = targetOf(openbao)
const serviceAccount = unique('engines')
let dbMount: string
let dropDatabaseEngine: () => Promise<void>
const pkiMount = unique('pki')
const kvPath = `vault-tests/${serviceAccount}/config`
let database: TestDatabase
let broker: TestBroker
let token: string

const json = async (response: Response) => {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  return response.json()
}

beforeAll(async () => {
  ;({ mount: dbMount, database, cleanUp: dropDatabaseEngine } = await mountDatabaseEngine(openbao, { ttl: '2m', maxTtl: '10m' }))
  await putKv2(target, kvPath, { api_key: 'first' })
  await putKv2(target, kvPath, { api_key: 'second', region: 'eu' })
  await openbao.apiOk('POST', `kv1/vault-tests/${serviceAccount}/config`, { user: 'kv1-user', 'pass word': "it's $secret" })

  await enableSecrets(target, pkiMount, 'pki')
  await openbao.apiOk('POST', `sys/mounts/${pkiMount}/tune`, { max_lease_ttl: '24h' })
  await openbao.apiOk('POST', `${pkiMount}/root/generate/internal`, { common_name: 'vault-edge test CA', ttl: '24h', key_type: 'ec' })
  await openbao.apiOk('POST', `${pkiMount}/roles/web`, { allowed_domains: ['svc.cluster.local'], allow_subdomains: true, max_ttl: '1h', key_type: 'ec' })

  await createJwtRole(target, {
    role: serviceAccount,
    serviceAccount,
    policy: `
path "secret/data/vault-tests/${serviceAccount}/*" { capabilities = ["read"] }
path "kv1/vault-tests/${serviceAccount}/*" { capabilities = ["read"] }
path "${dbMount}/creds/app" { capabilities = ["read"] }
path "${pkiMount}/issue/web" { capabilities = ["update"] }
`,
  })
  broker = await startTestBroker(
    brokerConfig({
      openbaoAddr: openbao.address,
      rules: [
        {
          cluster: 'local',
          namespace: 'vault-tests',
          serviceAccount,
          role: serviceAccount,
          paths: ['secret/data/vault-tests/*', 'kv1/vault-tests/*', `${dbMount}/creds/*`],
          issuingPaths: [`${pkiMount}/issue/*`],
        },
      ],
    }),
  )
  token = await podToken({ serviceAccount })
})

afterAll(() => dropDatabaseEngine?.())

describe('KV v2', () => {
  it('reads the latest version, and says which one it is', async () => {
    const response = await broker.call(`/v1/secrets/secret/data/${kvPath}`, token)
    expect(await json(response)).toEqual({ api_key: 'second', region: 'eu' })
    expect(response.headers.get('x-vault-secret-version')).toBe('2')
    expect(response.headers.get('x-vault-lease-expires')).toBeNull()
  })

  it('reads an older version with ?version=', async () => {
    const response = await broker.call(`/v1/secrets/secret/data/${kvPath}?version=1`, token)
    expect(await json(response)).toEqual({ api_key: 'first' })
    expect(response.headers.get('x-vault-secret-version')).toBe('1')
  })

  it('puts the metadata next to the data with ?metadata=true', async () => {
    const body = await json(await broker.call(`/v1/secrets/secret/data/${kvPath}?metadata=true&key=api_key`, token))
    expect(body.data).toEqual({ api_key: 'second' })
    expect(body.metadata).toMatchObject({ version: 2, destroyed: false })
    expect(Date.parse(body.metadata.created_time)).toBeGreaterThan(Date.now() - 3_600_000)
  })

  it('answers 400 to ?metadata=true in a format without room for it', async () => {
    const response = await broker.call(`/v1/secrets/secret/data/${kvPath}?metadata=true&format=env`, token)
    expect(response.status).toBe(400)
  })

  it('answers 404 to a version that does not exist', async () => {
    const response = await broker.call(`/v1/secrets/secret/data/${kvPath}?version=9`, token)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ code: 'not_found' })
  })
})

describe('KV v1', () => {
  it('reads the map as it is stored, rendered for a shell', async () => {
    const response = await broker.call(`/v1/secrets/kv1/vault-tests/${serviceAccount}/config?format=json`, token)
    expect(await json(response)).toEqual({ user: 'kv1-user', 'pass word': "it's $secret" })
    expect(response.headers.get('x-vault-secret-version')).toBeNull()
  })
})

describe('database secrets engine (PostgreSQL)', () => {
  it('hands out credentials that log in to PostgreSQL, with when they expire', async () => {
    const before = Date.now()
    const response = await broker.call(`/v1/secrets/${dbMount}/creds/app`, token)
    const creds = (await json(response)) as { username: string; password: string }
    expect(response.headers.get('x-vault-lease-duration')).toBe('120')
    const expires = Date.parse(response.headers.get('x-vault-lease-expires')!)
    expect(expires).toBeGreaterThanOrEqual(before + 119_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 121_000)

    expect(await database.loginAs(creds.username, creds.password)).toBe(creds.username)
    expect(await database.passwordMatches(creds.username, creds.password)).toBe(true)
    expect(await database.passwordMatches(creds.username, `${creds.password}x`)).toBe(false)
    // VALID UNTIL follows the lease.
    expect(Math.abs((await database.validUntil(creds.username))!.getTime() - expires)).toBeLessThan(10_000)
  })

  it('serves the same credentials from the cache while the lease lasts', async () => {
    const first = await json(await broker.call(`/v1/secrets/${dbMount}/creds/app`, token))
    const again = await broker.call(`/v1/secrets/${dbMount}/creds/app`, token)
    expect(again.headers.get('x-cache')).toBe('hit')
    expect(await json(again)).toEqual(first)
  })

  it('credentials of a revoked lease stop working, and the broker then reads new ones', async () => {
    const creds = (await json(await broker.call(`/v1/secrets/${dbMount}/creds/app`, token))) as { username: string; password: string }
    const leases = await openbao.apiOk('LIST', `sys/leases/lookup/${dbMount}/creds/app`)
    for (const key of leases.data.keys as string[]) await openbao.apiOk('PUT', 'sys/leases/revoke', { lease_id: `${dbMount}/creds/app/${key}` })

    await expect(database.loginAs(creds.username, creds.password)).rejects.toThrow(/does not exist|authentication failed/)
    expect(await database.passwordMatches(creds.username, creds.password)).toBeUndefined()

    // The renewal job finds the lease gone at Vault and drops the cached entry.
    const { renewLeasesNow } = await import('../../src/vault/vault-sessions.ts')
    const report = await renewLeasesNow(broker.services)
    expect(report?.gone).toBeGreaterThanOrEqual(1)
    const fresh = (await json(await broker.call(`/v1/secrets/${dbMount}/creds/app`, token))) as { username: string; password: string }
    expect(fresh.username).not.toBe(creds.username)
    expect(await database.loginAs(fresh.username, fresh.password)).toBe(fresh.username)
  })
})

describe('PKI through POST to an issuing path', () => {
  const issue = (body: unknown, path = `${pkiMount}/issue/web`) => broker.call(`/v1/secrets/${path}`, token, { method: 'POST', body })

  it('issues a certificate for the body Vault is given, new on every call', async () => {
    const first = await issue({ common_name: 'api.svc.cluster.local', ttl: '10m' })
    expect(first.headers.get('x-cache')).toBe('miss')
    const issued = (await json(first)) as { certificate: string; private_key: string; serial_number: string; issuing_ca: string }
    const certificate = new X509Certificate(issued.certificate)
    expect(certificate.subject).toContain('CN=api.svc.cluster.local')
    expect(certificate.verify(new X509Certificate(issued.issuing_ca).publicKey)).toBe(true)
    expect(Date.parse(certificate.validTo) - Date.now()).toBeLessThanOrEqual(11 * 60_000)
    expect(issued.private_key).toMatch(/^-----BEGIN (EC )?PRIVATE KEY-----/)

    const second = (await json(await issue({ common_name: 'api.svc.cluster.local', ttl: '10m' }))) as { serial_number: string }
    expect(second.serial_number).not.toBe(issued.serial_number)
  })

  it('renders one value raw, e.g. the certificate for a file', async () => {
    const response = await broker.call(`/v1/secrets/${pkiMount}/issue/web?format=raw&key=certificate`, token, {
      method: 'POST',
      body: { common_name: 'raw.svc.cluster.local' },
    })
    expect(response.status).toBe(200)
    expect(await response.text()).toMatch(/^-----BEGIN CERTIFICATE-----/)
  })

  it("passes Vault's 400 on as problem+json without Vault's message", async () => {
    const response = await issue({ common_name: 'evil.example.com' })
    expect(response.status).toBe(400)
    const text = await response.text()
    expect(JSON.parse(text)).toMatchObject({ code: 'vault_bad_request' })
    expect(text).not.toContain('evil.example.com')
  })

  it('answers 400 to a body that is not a JSON object', async () => {
    const response = await broker.call(`/v1/secrets/${pkiMount}/issue/web`, token, { method: 'POST', body: ['common_name'] })
    expect(response.status).toBe(400)
  })

  it('refuses POST to a path the rules do not mark as issuing, before Vault', async () => {
    const response = await broker.call(`/v1/secrets/secret/data/${kvPath}`, token, { method: 'POST', body: { data: { x: 1 } } })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'forbidden' })
  })

  it('refuses GET on an issuing path that is not also a read path', async () => {
    const response = await broker.call(`/v1/secrets/${pkiMount}/issue/web`, token)
    expect(response.status).toBe(403)
  })
})

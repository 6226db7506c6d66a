// The shared OpenBao of the global setup behaves like a configured Vault: pods of the
// demo ServiceAccount log in (jwt and kubernetes auth) and read; others are refused;
// the audit log counts what OpenBao saw.
import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { decodeJwt, issuerStats, mintToken } from './mint.ts'
import { createOpenBaoClient, startOpenBao } from './openbao.ts'
import { DEMO_ROLE_NAME, DEMO_SECRET } from './seed-openbao.ts'

const openbao = createOpenBaoClient({
  address: inject('openbaoAddr'),
  rootToken: inject('openbaoRootToken'),
  auditLogPath: inject('openbaoAuditLog'),
})
const issuerUrl = inject('issuerUrl')
const audience = inject('audience')

const podToken = (options: { namespace?: string; serviceAccount?: string; pod?: string; audiences?: string[] } = {}) =>
  mintToken(issuerUrl, {
    namespace: options.namespace ?? 'demo',
    serviceAccount: options.serviceAccount ?? 'myapp',
    audiences: options.audiences ?? [audience],
    pod: options.pod,
    expirationSeconds: 600,
  })

const login = (mount: 'jwt' | 'kubernetes', jwt: string, role = DEMO_ROLE_NAME) =>
  openbao.api('POST', `auth/${mount}/login`, { role, jwt }, { token: null })

describe.each(['jwt', 'kubernetes'] as const)('OpenBao %s auth seeded by seedDemo', (mount) => {
  it('logs in demo/myapp and lets it read secret/myapp/config', async () => {
    const res = await login(mount, await podToken())
    expect(res.status).toBe(200)
    expect(res.body.auth.policies).toEqual(['default', 'myapp-read'])
    expect(res.body.auth.metadata).toMatchObject({ role: DEMO_ROLE_NAME, service_account_name: 'myapp', service_account_namespace: 'demo' })
    const read = await openbao.api('GET', 'secret/data/myapp/config', undefined, { token: res.body.auth.client_token })
    expect(read.status).toBe(200)
    expect(read.body.data.data).toEqual(DEMO_SECRET)
    const other = await openbao.api('GET', 'secret/data/other/config', undefined, { token: res.body.auth.client_token })
    expect(other.status).toBe(403)
  })

  it('refuses another ServiceAccount of the same namespace', async () => {
    const res = await login(mount, await podToken({ serviceAccount: 'intruder' }))
    // Surprise worth knowing: the jwt method answers a bound_claims mismatch with 400, not 403.
    expect(res.status).toBe(mount === 'jwt' ? 400 : 403)
    expect(res.body.auth).toBeUndefined()
  })

  it('refuses the same ServiceAccount name in another namespace', async () => {
    const res = await login(mount, await podToken({ namespace: 'other' }))
    expect([400, 403]).toContain(res.status)
  })

  it('refuses a token for another audience', async () => {
    const res = await login(mount, await podToken({ audiences: ['not-vault-edge'] }))
    expect([400, 403]).toContain(res.status)
  })
})

describe('OpenBao kubernetes auth', () => {
  it('asks the cluster issuer TokenReview once per login', async () => {
    const before = (await issuerStats(issuerUrl)).tokenReviews
    expect((await login('kubernetes', await podToken())).status).toBe(200)
    expect((await issuerStats(issuerUrl)).tokenReviews).toBe(before + 1)
  })
})

describe('the audit log', () => {
  it('counts one login and one read at OpenBao for one pod', async () => {
    const pod = `myapp-${randomUUID().slice(0, 8)}`
    const mark = await openbao.auditMark()
    const token = await podToken({ pod })
    const res = await login('jwt', token)
    await openbao.api('GET', 'secret/data/myapp/config', undefined, { token: res.body.auth.client_token })
    const mine = { since: mark, metadata: { pod_name: pod } }
    expect(await openbao.countRequests({ ...mine, path: 'auth/jwt/login' })).toBe(1)
    expect(await openbao.countRequests({ ...mine, path: 'secret/data/myapp/config', operation: 'read' })).toBe(1)
    expect(await openbao.countRequests({ ...mine, role: DEMO_ROLE_NAME })).toBe(2)
    const [entry] = await openbao.auditEntries({ ...mine, path: 'secret/data/myapp/config' })
    expect(entry?.auth?.display_name).toBe(`jwt-${decodeJwt(token).payload.sub}`)
  })

  it('comes from a declarative audit device: OpenBao 2.x refuses to enable one over the API', async () => {
    const res = await openbao.api('PUT', 'sys/audit/other', { type: 'file', options: { file_path: '/dev/null' } })
    expect(res.status).toBe(400)
    expect(JSON.stringify(res.body)).toMatch(/declarative/)
    expect((await openbao.apiOk('GET', 'sys/audit'))['file/']).toMatchObject({ type: 'file' })
  })
})

describe('the bao CLI helper', () => {
  it('runs bao against the server with the root token', async () => {
    const result = await openbao.bao(['kv', 'get', '-format=json', 'secret/myapp/config'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).data.data).toEqual(DEMO_SECRET)
  })
})

describe('a private OpenBao', () => {
  it('starts fast, seals, unseals, freezes, and leaves no process behind', async () => {
    const startedAt = Date.now()
    const bao = await startOpenBao()
    try {
      expect(Date.now() - startedAt).toBeLessThan(10_000)
      expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(200)
      await bao.seal()
      expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(503)
      expect((await bao.api('GET', 'secret/data/x')).status).toBe(503)
      await bao.unseal()
      expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(200)
      bao.freeze()
      await expect(fetch(`${bao.address}/v1/sys/health`, { signal: AbortSignal.timeout(300) })).rejects.toThrow()
      bao.thaw()
      expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(200)
    } finally {
      await bao.stop()
    }
    expect(() => process.kill(bao.pid, 0)).toThrow()
    await expect(fetch(`${bao.address}/v1/sys/health`)).rejects.toThrow()
  })
})

// SPEC §2 error mapping against a real OpenBao of this file's own (it gets sealed and stopped):
// every way Vault can fail a read, with the status and problem+json code the pod gets, and
// never Vault's own message (it names paths and policies the caller may not see).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BROKER_AUDIENCE } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { DEMO_ROLE_NAME, enableSecrets, putKv2, seedDemo, writePolicy } from '../support/seed-openbao.ts'
import { startDelayingProxy, type DelayingProxy } from './support/delaying-proxy.ts'
import { brokerConfig, sharedStack, startTestBroker, targetOf, type TestBroker } from './support/vault-stack.ts'

const { issuerUrl } = sharedStack()
let bao: OpenBao
let proxy: DelayingProxy
let direct: TestBroker
let slow: TestBroker
let token: string

const TIMEOUT_MS = 1000
const rules = [{ cluster: 'local', namespace: 'demo', serviceAccount: 'myapp', role: DEMO_ROLE_NAME, paths: ['secret/data/*', 'broken-db/creds/*'] }]

beforeAll(async () => {
  bao = await startOpenBao()
  const target = targetOf(bao)
  await seedDemo(target, { issuerUrl, audience: BROKER_AUDIENCE })
  await writePolicy(target, 'myapp-read', 'path "secret/data/myapp/*" { capabilities = ["read"] }\npath "broken-db/creds/*" { capabilities = ["read"] }\n')
  await putKv2(target, 'other-team/db', { password: 'not yours' })
  await putKv2(target, 'myapp/limited', { a: '1' })
  for (const name of ['slow', 'sealed', 'stopped']) await putKv2(target, `myapp/${name}`, { a: '1' })
  await bao.apiOk('POST', 'sys/quotas/rate-limit/myapp-limited', { path: 'secret/data/myapp/limited', rate: 1, interval: '1m' })
  // A database the engine cannot reach: OpenBao answers 500 with the connection error.
  await enableSecrets(target, 'broken-db', 'database')
  await bao.apiOk('POST', 'broken-db/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=1',
    username: 'postgres',
    password: 'x',
    allowed_roles: ['app'],
    verify_connection: false,
  })
  await bao.apiOk('POST', 'broken-db/roles/app', { db_name: 'pg', creation_statements: ['CREATE ROLE "{{name}}"'], default_ttl: '1m' })

  proxy = await startDelayingProxy({ host: '127.0.0.1', port: bao.port })
  const config = (address: string) => brokerConfig({ openbaoAddr: address, vault: { timeoutMs: TIMEOUT_MS }, rules })
  direct = await startTestBroker(config(bao.address))
  slow = await startTestBroker(config(proxy.url))
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], expirationSeconds: 600 })
})
afterAll(async () => {
  await proxy?.stop()
  await bao?.stop()
})

interface Row {
  what: string
  path: string
  broker?: () => TestBroker
  before?: () => Promise<void>
  status: number
  code: string
  retryAfter?: boolean
  /** Vault's own words that must not reach the pod. */
  vaultSays: string[]
}

const table: Row[] = [
  { what: 'permission denied', path: 'secret/data/other-team/db', status: 403, code: 'vault_denied', vaultSays: ['permission denied', 'other-team'] },
  { what: 'missing path', path: 'secret/data/myapp/missing', status: 404, code: 'not_found', vaultSays: ['errors'] },
  {
    what: 'rate limited by a quota',
    path: 'secret/data/myapp/limited',
    before: async () => {
      await bao.api('GET', 'secret/data/myapp/limited') // uses up the quota
    },
    status: 429,
    code: 'rate_limited',
    retryAfter: true,
    vaultSays: ['quota', 'myapp/limited'],
  },
  { what: 'an error inside Vault (database unreachable)', path: 'broken-db/creds/app', status: 502, code: 'vault_error', vaultSays: ['127.0.0.1', 'connect', 'nowhere'] },
  {
    what: 'slow OpenBao (answers after the timeout, behind a delaying proxy)',
    path: 'secret/data/myapp/slow',
    broker: () => slow,
    before: async () => {
      // Log in first, so the read (not the login) is what times out.
      await slow.call('/v1/secrets/secret/data/myapp/limited', token)
      proxy.setDelay(TIMEOUT_MS + 500)
    },
    status: 504,
    code: 'vault_timeout',
    vaultSays: [],
  },
  {
    what: 'sealed OpenBao',
    path: 'secret/data/myapp/sealed',
    before: async () => {
      proxy.setDelay(0)
      await bao.seal()
    },
    status: 503,
    code: 'vault_unavailable',
    retryAfter: true,
    vaultSays: ['sealed'],
  },
  {
    what: 'stopped OpenBao',
    path: 'secret/data/myapp/stopped',
    before: async () => {
      await bao.stop()
    },
    status: 503,
    code: 'vault_unavailable',
    retryAfter: true,
    vaultSays: ['ECONNREFUSED', '127.0.0.1'],
  },
]

describe('Vault failures as the pod sees them', () => {
  it.each(table)('$what → $status $code', async (row) => {
    await row.before?.()
    const started = Date.now()
    const response = await (row.broker?.() ?? direct).call(`/v1/secrets/${row.path}`, token)
    const text = await response.text()
    expect(response.status).toBe(row.status)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    const problem = JSON.parse(text)
    expect(problem).toMatchObject({ status: row.status, code: row.code })
    expect(problem.requestId).toEqual(expect.any(String))
    if (row.retryAfter) expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
    for (const words of row.vaultSays) expect(text).not.toContain(words)
    expect(text).not.toContain(token.slice(0, 20))
    if (row.code === 'vault_timeout') expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 2 + 500)
  })

  it('logged every failure without a token or a Vault token', () => {
    const log = [...direct.log.lines, ...slow.log.lines].join('\n')
    expect(log).not.toContain(token.slice(0, 20))
    expect(log).not.toMatch(/\bs\.[A-Za-z0-9]{20,}/)
    expect(log).toMatch(/"code":"vault_unavailable"/)
  })
})

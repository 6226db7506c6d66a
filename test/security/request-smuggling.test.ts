// Attacks that hold, kept as regressions: a pod with a valid token tries to reach Vault with
// something the rules never saw (a LIST, another namespace, a wrapped answer, another role) or to
// learn about a path it may not read through ETags.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: Broker
let myapp: string
let other: string
const sent: { url: URL; headers: Headers; body: string | undefined }[] = []

beforeAll(async () => {
  const recording: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.origin === new URL(openbaoAddr).origin) sent.push({ url, headers: new Headers(init?.headers), body: typeof init?.body === 'string' ? init.body : undefined })
    return fetch(input, init)
  }
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) }, { fetch: recording, log: createMemoryLogger() })
  myapp = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
  other = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'other', audiences: [BROKER_AUDIENCE] })
})

const get = (path: string, token: string, headers: Record<string, string> = {}) =>
  broker.app.request(`/v1/secrets/${path}`, { headers: { ...headers, Authorization: `Bearer ${token}` } })

describe('what reaches Vault', () => {
  it('never turns a read into a LIST or passes query parameters other than a numeric version', async () => {
    sent.length = 0
    expect((await get('secret/data/myapp/config?list=true&version=1&wrap_ttl=1m', myapp)).status).toBe(200)
    expect((await get('secret/data/myapp/config%3Flist=true', myapp)).status).toBe(400)
    expect((await get('secret/data/myapp/config?version=1%26list=true', myapp)).status).toBe(400)
    const reads = sent.filter(({ url }) => url.pathname.startsWith('/v1/secret/'))
    expect(reads.map(({ url }) => `${url.pathname}${url.search}`)).toEqual(['/v1/secret/data/myapp/config?version=1'])
  })

  it('never forwards the Vault headers a caller sends: namespace, token, wrapping, policy override', async () => {
    sent.length = 0
    const response = await get('secret/data/myapp/config', myapp, {
      'X-Vault-Namespace': 'admin',
      'X-Vault-Token': 'hvs.attacker',
      'X-Vault-Wrap-TTL': '60s',
      'X-Vault-Policy-Override': 'true',
      'X-Vault-Request': 'true',
    })
    expect(response.status).toBe(200)
    for (const { headers } of sent) {
      expect(headers.get('x-vault-namespace')).toBeNull()
      expect(headers.get('x-vault-token')).not.toBe('hvs.attacker')
      expect(headers.get('x-vault-wrap-ttl')).toBeNull()
      expect(headers.get('x-vault-policy-override')).toBeNull()
    }
  })

  it('refuses a requested role that the rule does not list, however it is spelled', async () => {
    sent.length = 0
    for (const role of ['{namespace}-{serviceAccount}', 'demo-other', 'demo-myapp ', 'default', 'demo-myapp%0d%0aX-Vault-Namespace:%20admin']) {
      const response = await broker.app.request(`/v1/secrets/secret/data/myapp/config?role=${encodeURIComponent(role)}`, { headers: { Authorization: `Bearer ${myapp}` } })
      expect(response.status, role).toBe(403)
      expect(await response.json()).toMatchObject({ code: 'forbidden' })
    }
    expect(sent.filter(({ url }) => url.pathname.includes('/login'))).toEqual([])
  })
})

describe('ETags across service accounts', () => {
  it('gives another service account that Vault denies a 403 for an ETag it copied, never a 304', async () => {
    const mine = await get('secret/data/myapp/config', myapp)
    const etag = mine.headers.get('etag')!
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/)
    expect((await get('secret/data/myapp/config', myapp, { 'If-None-Match': etag })).status).toBe(304)
    // demo/other's role (demo-other) does not exist in OpenBao: its login is refused.
    for (const ifNoneMatch of [etag, '*']) {
      const response = await get('secret/data/myapp/config', other, { 'If-None-Match': ifNoneMatch })
      expect(response.status).toBe(403)
      expect(response.headers.get('etag')).toBeNull()
      expect(await response.json()).toMatchObject({ code: 'vault_denied' })
    }
  })
})

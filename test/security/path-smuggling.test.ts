// An attacker with a valid token for demo/myapp (rule: secret/data/myapp/*) tries to make the
// broker send Vault another path than the one its rules checked. The invariant: every path the
// broker accepts reaches Vault byte for byte, so the rule check and Vault see the same path.
import fc from 'fast-check'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { validateSecretPath } from '../../src/rules.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: Broker
let token: string
/** Every Vault path the broker asked for, as Vault's router sees it (decoded). */
const vaultPaths: string[] = []

beforeAll(async () => {
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.origin === new URL(openbaoAddr).origin) vaultPaths.push(decodeURIComponent(url.pathname))
    return fetch(input, init)
  }
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) }, { fetch: recording, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

const isAccepted = (path: string) => {
  try {
    validateSecretPath(path)
    return true
  } catch {
    return false
  }
}

/** What Vault's router gets for a path in `{address}/v1/{path}` (the Vault client's URL). */
const pathVaultReceives = (path: string) => decodeURIComponent(new URL(`http://vault.example:8200/v1/${path}`).pathname).slice('/v1/'.length)

describe('paths the URL parser would rewrite on the way to Vault', () => {
  it('sends Vault exactly the path the rules checked, for every path it accepts (property)', () => {
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom(' ', '. ', '.. ', ' ..', 'a ', '\u3000', '\u00a0', '\ud800', '\udc00x', 'é', '+', '*', ';x', '%2e'),
    )
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const path = ['secret', 'data', 'myapp', ...segments].join('/')
        if (isAccepted(path)) expect(pathVaultReceives(path)).toBe(path)
      }),
      { numRuns: 20_000 },
    )
  })

  it('refuses a trailing space that would turn secret/data/myapp/.. into secret/data/ at Vault', async () => {
    vaultPaths.length = 0
    for (const path of ['secret/data/myapp/..%20', 'secret/data/myapp/.%20', 'secret/data/myapp/config%20']) {
      const response = await broker.app.request(`/v1/secrets/${path}`, { headers: { Authorization: `Bearer ${token}` } })
      expect(response.status, path).toBe(400)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({ code: 'invalid_path' })
    }
    expect(vaultPaths).toEqual([])
  })

  it('refuses the same trick and lone surrogates in bundle paths, before any Vault call', async () => {
    vaultPaths.length = 0
    for (const path of ['secret/data/myapp/.. ', 'secret/data/myapp/\ud800']) {
      const response = await broker.app.request('/v1/bundle', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ secrets: [{ path }] }),
      })
      expect(response.status, JSON.stringify(path)).toBe(400)
      expect(await response.json()).toMatchObject({ code: 'invalid_path' })
    }
    expect(vaultPaths).toEqual([])
  })

  it('refuses the trick in a template path too, where trimming its slashes bares the space', async () => {
    vaultPaths.length = 0
    const response = await broker.app.request('/v1/render', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' },
      body: '{{ with secret "secret/data/myapp/.. /" }}{{ .Data }}{{ end }}',
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: 'invalid_path' })
    expect(vaultPaths).toEqual([])
  })

  it('still reads paths with inner spaces and non-ASCII names as they are', async () => {
    vaultPaths.length = 0
    const response = await broker.app.request(`/v1/secrets/secret/data/myapp/${encodeURIComponent('my key é')}`, { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status).toBe(404)
    expect(vaultPaths).toContain('/v1/secret/data/myapp/my key é')
  })

  it('refuses a route prefix spelled with percent-escapes instead of reading a shifted path', async () => {
    vaultPaths.length = 0
    for (const url of ['/v1/%73ecrets/secret/data/myapp/config', '/v1/secret%73/data/myapp/config']) {
      const response = await broker.app.request(url, { headers: { Authorization: `Bearer ${token}` } })
      expect(response.status, url).toBe(400)
      expect(await response.json()).toMatchObject({ code: 'invalid_path' })
    }
    expect(vaultPaths).toEqual([])
    const bare = await broker.app.request('/v1/secrets', { headers: { Authorization: `Bearer ${token}` } })
    expect(bare.status).toBe(400)
    expect(await bare.json()).toMatchObject({ code: 'invalid_path', detail: expect.stringContaining('path is required') })
  })
})

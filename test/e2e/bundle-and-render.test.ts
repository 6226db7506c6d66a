// POST /v1/bundle and POST /v1/render through the Worker in workerd, against real OpenBao:
// the CSI `objects` / ESO `data` mapping and the Agent Injector templates of the tutorial.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { putKv2 } from '../support/seed-openbao.ts'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
let broker: WorkerdBroker
let token: string

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${broker.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType }, body })

beforeAll(async () => {
  await putKv2(openbao, 'myapp/api', { key: 'api-key-123' })
  broker = await startBrokerInWorkerd({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })) })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})
afterAll(() => broker?.stop())

describe('POST /v1/bundle', () => {
  it('maps keys of several paths into one env file', async () => {
    const response = await post(
      '/v1/bundle?format=env',
      JSON.stringify({
        secrets: [
          { path: 'secret/data/myapp/config', keys: { DB_USER: 'username', DB_PASSWORD: 'password' } },
          { path: 'secret/data/myapp/api', prefix: 'API_' },
        ],
      }),
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(`export DB_USER='demo-user'\nexport DB_PASSWORD='s3cr3t-'\\''quoted'\\'' $HOME'\nexport API_KEY='api-key-123'\n`)
  })

  it('answers 400 naming both sources when two entries give one name', async () => {
    const response = await post(
      '/v1/bundle',
      JSON.stringify({ secrets: [{ path: 'secret/data/myapp/config', keys: { X: 'username' } }, { path: 'secret/data/myapp/api', keys: { X: 'key' } }] }),
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: 'bundle_collision' })
  })

  it('checks every path against the rules', async () => {
    const response = await post('/v1/bundle', JSON.stringify({ secrets: [{ path: 'secret/data/myapp/config' }, { path: 'secret/data/other/db' }] }))
    expect(response.status).toBe(403)
  })

  it('answers 400 to an output name __proto__ rather than dropping it', async () => {
    const body = '{"secrets": [{"path": "secret/data/myapp/config", "keys": {"__proto__": "username", "USER": "username"}}]}'
    const response = await post('/v1/bundle', body)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: 'invalid_body' })
  })

  it('answers 400 to a body that is not a bundle and 413 to one too large', async () => {
    expect((await post('/v1/bundle', '{"secrets": "x"}')).status).toBe(400)
    expect((await post('/v1/bundle', 'not json')).status).toBe(400)
    expect((await post('/v1/bundle', JSON.stringify({ secrets: [{ path: 'x'.repeat(70_000) }] }))).status).toBe(413)
  })
})

describe('POST /v1/render', () => {
  it('renders the tutorial env template exactly as Vault Agent does', async () => {
    const template = [
      '{{- with secret "secret/data/myapp/config" -}}',
      'export DB_USER="{{ .Data.data.username }}"',
      'export DB_PASSWORD="{{ .Data.data.password }}"',
      '{{- end -}}',
    ].join('\n')
    const response = await post('/v1/render', JSON.stringify({ template }))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(`export DB_USER="demo-user"\nexport DB_PASSWORD="s3cr3t-'quoted' $HOME"`)
  })

  it('renders the API key template sent as text/plain', async () => {
    const response = await post('/v1/render', '{{- with secret "secret/data/myapp/api" -}}{{ .Data.data.key }}{{- end -}}', 'text/plain')
    expect(await response.text()).toBe('api-key-123')
  })

  it('answers 403 when the template reads a path outside the rule', async () => {
    const response = await post('/v1/render', JSON.stringify({ template: '{{ with secret "secret/data/other/x" }}{{ .Data.data.a }}{{ end }}' }))
    expect(response.status).toBe(403)
  })

  it('answers 400 naming unsupported syntax', async () => {
    const response = await post('/v1/render', JSON.stringify({ template: '{{ env "HOME" }}' }))
    expect(response.status).toBe(400)
    const problem = (await response.json()) as { code: string; detail: string }
    expect(problem.code).toBe('template_unsupported')
    expect(problem.detail).toContain('"env"')
    expect(problem.detail).toContain('line 1, column 4')
  })

  it('renders the Go and consul-template functions inside workerd too', async () => {
    const template = [
      '{{- with secret "secret/myapp/config" -}}',
      '{{ printf "%-6s|%5.2f|%q" .Data.data.username 3.14159 "x" }} {{ sha256Hex "abc" | printf "%.8s" }}',
      '{{ regexReplaceAll "[0-9]+" "#" "a1b22" }} {{ .Data.data.username | toUpper | sprig_quote }} {{ gt (len .Data.data.password) 0 }}',
      '{{ toYAML .Data.data }}',
      '{{- end -}}',
    ].join('\n')
    const response = await post('/v1/render', JSON.stringify({ template }))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(`demo-user| 3.14|"x" ba7816bf\na#b# "DEMO-USER" true\npassword: s3cr3t-'quoted' $HOME\nusername: demo-user`)
  })
})

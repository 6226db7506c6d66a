// pkiCert in POST /v1/render against a real OpenBao PKI mount: issued only through a rule's
// issuingPaths, returned as consul-template's dependency.PemEncoded (Cert, Key, CA, each ending
// in a newline), and the same certificate again on the next render until close to its expiry.
import { X509Certificate, randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { renderWithBaoAgent } from '../support/bao-agent.ts'
import { mintToken } from '../support/mint.ts'
import { enableSecrets, openBaoRequest, writeJwtRole, writePolicy } from '../support/seed-openbao.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
const mount = `pki-tpl-${randomBytes(3).toString('hex')}`
let broker: Broker
let token: string
let caPem: string

beforeAll(async () => {
  await enableSecrets(openbao, mount, 'pki')
  await openBaoRequest(openbao, 'POST', `sys/mounts/${mount}/tune`, { max_lease_ttl: '24h' })
  const root = await openBaoRequest<{ data: { certificate: string } }>(openbao, 'POST', `${mount}/root/generate/internal`, { common_name: 'vault-edge template CA', ttl: '24h', key_type: 'ec' })
  caPem = root.body.data.certificate
  await openBaoRequest(openbao, 'POST', `${mount}/roles/web`, { allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: '2h', key_type: 'ec' })
  await writePolicy(openbao, 'pki-template', `path "${mount}/issue/web" {\n  capabilities = ["update"]\n}\npath "secret/data/myapp/*" {\n  capabilities = ["read"]\n}\n`)
  await writeJwtRole(openbao, { name: 'pki-template', audience: BROKER_AUDIENCE, namespace: 'demo', serviceAccount: 'pki', policies: ['pki-template'] })
  const rules = [{ cluster: 'local', namespace: 'demo', serviceAccount: 'pki', role: 'pki-template', paths: ['secret/data/myapp/*'], issuingPaths: [`${mount}/issue/web`] }]
  broker = await createBroker(
    { BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { rules } })) },
    { fetch: globalThis.fetch, log: createMemoryLogger() },
  )
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'pki', audiences: [BROKER_AUDIENCE] })
})

const render = (template: string) =>
  broker.app.request('/v1/render', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, body: template })

describe('pkiCert', () => {
  it('issues through the rule’s issuingPaths and renders Cert, Key and CA as PEM ending in a newline', async () => {
    const template = `{{ with pkiCert "${mount}/issue/web" "common_name=a.example.com" "ttl=1h" }}{{ .Cert }}|{{ .Key }}|{{ .CA }}|{{ printf "%T" . }}{{ end }}`
    const response = await render(template)
    expect(response.status).toBe(200)
    const [cert, key, ca, type] = (await response.text()).split('|') as [string, string, string, string]
    expect(new X509Certificate(cert).subject).toBe('CN=a.example.com')
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/)
    expect(key).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----\n$/)
    expect(ca).toBe(`${caPem}\n`)
    expect(type).toBe('dependency.PemEncoded')
  })

  it('gives the same certificate to the next render (cached until close to expiry), whatever the parameter order', async () => {
    const first = await (await render(`{{ (pkiCert "${mount}/issue/web" "common_name=b.example.com" "ttl=1h").Cert }}`)).text()
    const second = await (await render(`{{ with pkiCert "${mount}/issue/web" "ttl=1h" "common_name=b.example.com" }}{{ .Cert }}{{ end }}`)).text()
    expect(new X509Certificate(first).subject).toBe('CN=b.example.com')
    expect(second).toBe(first)
    const other = await (await render(`{{ (pkiCert "${mount}/issue/web" "common_name=c.example.com" "ttl=1h").Cert }}`)).text()
    expect(new X509Certificate(other).serialNumber).not.toBe(new X509Certificate(first).serialNumber)
  })

  it('renders the fields as Vault Agent does: the same CA, PEM layout and Go type', async () => {
    const template = `{{ with pkiCert "${mount}/issue/web" "common_name=d.example.com" "ttl=1h" }}{{ .CA }}|{{ printf "%T" . }}|{{ .Cert | sprig_trunc 28 }}|{{ .Key | sprig_trunc 31 }}|{{ .Cert | sprig_trunc -26 | printf "%q" }}{{ end }}`
    const [agent] = await renderWithBaoAgent({ address: openbao.address, jwt: token, role: 'pki-template', templates: [template] })
    const response = await render(template)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(agent)
  })

  it('answers 403 for an issuing path the rule does not list, and 400 for arguments that are not literals', async () => {
    expect((await render(`{{ with pkiCert "${mount}/issue/other" "common_name=a.example.com" }}{{ .Cert }}{{ end }}`)).status).toBe(403)
    const response = await render(`{{ $cn := "common_name=a.example.com" }}{{ with pkiCert "${mount}/issue/web" $cn }}{{ .Cert }}{{ end }}`)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: 'template_unsupported' })
  })
})

// TLS on every hop to Vault, with the Vault CLI's own variables (VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME): an OpenBao whose listener requires and verifies client
// certificates, the broker on Node and on Deno reading through it, and each TLS failure a 502
// naming its cause in the log. The issuer's keys come over HTTPS from a private CA too (caCert).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { startHttpsProxy, type HttpsProxy } from '../support/https-proxy.ts'
import { mintToken } from '../support/mint.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { runUntilExit, startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { DEMO_AUDIENCE, seedDemo } from '../support/seed-openbao.ts'
import { createTestPki, type PemFiles, type TestCa, type TestPki } from '../support/test-pki.ts'

const issuerUrl = inject('issuerUrl')
let pki: TestPki
let ca: TestCa
let otherCa: TestCa
let client: PemFiles
let openbao: OpenBao
let issuerFront: HttpsProxy
const running: ProcessBroker[] = []

beforeAll(async () => {
  pki = createTestPki()
  ca = pki.createCa('vault')
  otherCa = pki.createCa('other')
  client = ca.issueClient('vault-edge-client')
  // No IP address in it: reaching 127.0.0.1 by address needs VAULT_TLS_SERVER_NAME.
  const server = ca.issueServer('openbao', ['localhost', 'vault.internal'])
  openbao = await startOpenBao({ tlsListener: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.cert } })
  await seedDemo(openbao, { issuerUrl, audience: DEMO_AUDIENCE })
  issuerFront = await startHttpsProxy(inject('issuerApiServerUrl'), ca.issueServer('issuer', ['localhost']))
})
afterAll(async () => {
  await Promise.all(running.map((broker) => broker.stop()))
  await issuerFront?.stop()
  await openbao?.stop()
  pki?.cleanup()
})

const brokerConfig = (vaultAddress: string, issuerCa = ca.cert) => {
  const config = demoBrokerConfig({ issuerUrl, openbaoAddr: vaultAddress })
  return JSON.stringify({ ...config, clusters: [{ ...config.clusters[0], jwksUri: `${issuerFront.url}/openid/v1/jwks`, caCert: issuerCa }] })
}

async function start(runtime: 'node' | 'deno', env: Record<string, string>): Promise<ProcessBroker> {
  const broker = await startProcessBroker(runtime, env)
  running.push(broker)
  return broker
}

async function read(broker: ProcessBroker) {
  const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
  const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${token}` } })
  return { response, body: await response.json(), token }
}

const logLines = (broker: ProcessBroker) =>
  broker
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe.each(['node', 'deno'] as const)('the %s broker and an OpenBao that requires client certificates', (runtime) => {
  it('reads a secret with VAULT_CACERT, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, and the issuer keys with caCert', async () => {
    const proxied = issuerFront.requests()
    const broker = await start(runtime, {
      BROKER_CONFIG: brokerConfig(openbao.tlsAddress!),
      VAULT_CACERT: ca.cert,
      VAULT_CLIENT_CERT: client.cert,
      VAULT_CLIENT_KEY: client.key,
    })
    const { response, body, token } = await read(broker)
    expect(response.status).toBe(200)
    expect(body).toMatchObject({ username: 'demo-user' })
    expect(issuerFront.requests()).toBeGreaterThan(proxied)
    // Readiness asks Vault's sys/health over the same TLS settings.
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200)
    expect(broker.output()).not.toContain(token.split('.')[1])
  })

  it('answers 502 vault_tls_error without a client certificate, and logs that one is required', async () => {
    const broker = await start(runtime, { BROKER_CONFIG: brokerConfig(openbao.tlsAddress!), VAULT_CACERT: ca.cert })
    const { response, body } = await read(broker)
    expect(response.status).toBe(502)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(body).toMatchObject({ code: 'vault_tls_error', detail: 'The TLS connection to Vault failed.' })
    expect(logLines(broker)).toContainEqual(expect.objectContaining({ code: 'vault_tls_error', reason: expect.stringContaining('requires a client certificate') }))
    const ready = await fetch(`${broker.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ vault: 'TLS failed (client_certificate_required)' })
  })

  it('answers 502 vault_tls_error when VAULT_CACERT is another CA, and logs the unknown CA', async () => {
    const broker = await start(runtime, { BROKER_CONFIG: brokerConfig(openbao.tlsAddress!), VAULT_CACERT: otherCa.cert, VAULT_CLIENT_CERT: client.cert, VAULT_CLIENT_KEY: client.key })
    const { response, body } = await read(broker)
    expect(response.status).toBe(502)
    expect(body).toMatchObject({ code: 'vault_tls_error' })
    expect(logLines(broker)).toContainEqual(expect.objectContaining({ code: 'vault_tls_error', reason: expect.stringContaining('unknown CA') }))
  })

  it('answers 502 when the client certificate is signed by a CA OpenBao does not trust, and logs a bad client certificate', async () => {
    const stranger = otherCa.issueClient(`stranger-${runtime}`)
    const broker = await start(runtime, { BROKER_CONFIG: brokerConfig(openbao.tlsAddress!), VAULT_CACERT: ca.cert, VAULT_CLIENT_CERT: stranger.cert, VAULT_CLIENT_KEY: stranger.key })
    const { response } = await read(broker)
    expect(response.status).toBe(502)
    expect(logLines(broker)).toContainEqual(expect.objectContaining({ code: 'vault_tls_error', reason: expect.stringContaining('bad client certificate') }))
  })

  it('logs the unknown CA of an issuer whose caCert is another CA, and refuses the token without a 500', async () => {
    const broker = await start(runtime, { BROKER_CONFIG: brokerConfig(openbao.tlsAddress!, otherCa.cert), VAULT_CACERT: ca.cert, VAULT_CLIENT_CERT: client.cert, VAULT_CLIENT_KEY: client.key })
    const { response } = await read(broker)
    // Without keys a token cannot be verified: the generic 401, the reason in the log.
    expect(response.status).toBe(401)
    expect(logLines(broker)).toContainEqual(expect.objectContaining({ msg: 'TLS to the issuer failed', cause: 'unknown_ca' }))
    expect(logLines(broker)).toContainEqual(expect.objectContaining({ code: 'invalid_token', reason: expect.stringContaining('unavailable (TlsFailureError)') }))
  })
})

describe('VAULT_TLS_SERVER_NAME', () => {
  const address = () => openbao.tlsAddress!.replace('localhost', '127.0.0.1')

  it('on Node, checks the certificate for that name while connecting to the address', async () => {
    const env = { BROKER_CONFIG: brokerConfig(address()), VAULT_CACERT: ca.cert, VAULT_CLIENT_CERT: client.cert, VAULT_CLIENT_KEY: client.key }
    const named = await start('node', { ...env, VAULT_TLS_SERVER_NAME: 'vault.internal' })
    expect((await read(named)).response.status).toBe(200)

    const unnamed = await start('node', env)
    expect((await read(unnamed)).response.status).toBe(502)
    expect(logLines(unnamed)).toContainEqual(expect.objectContaining({ code: 'vault_tls_error', reason: expect.stringContaining('name mismatch') }))
  })

  it('on Deno, which cannot override the name, stops the broker at start-up naming the variable', async () => {
    const { code, output } = await runUntilExit('deno', { BROKER_CONFIG: brokerConfig(address()), VAULT_CACERT: ca.cert, VAULT_TLS_SERVER_NAME: 'vault.internal' })
    expect(code).toBe(1)
    expect(output).toContain('VAULT_TLS_SERVER_NAME: not supported on Deno')
  })
})

describe.each(['node', 'deno'] as const)('the %s broker with unusable TLS settings', (runtime) => {
  it('stops at start-up naming each setting, not a stack trace', async () => {
    const { code, output } = await runUntilExit(runtime, {
      BROKER_CONFIG: brokerConfig(openbao.tlsAddress!),
      VAULT_CACERT: `${pki.dir}/missing.pem`,
      VAULT_CLIENT_CERT: client.cert,
    })
    expect(code).toBe(1)
    expect(output).toContain('VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: set both or neither')
    expect(output).not.toMatch(/\n\s+at /)
  })

  it('stops at start-up when a file cannot be read, naming the setting and the path', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: brokerConfig(openbao.tlsAddress!), VAULT_CACERT: `${pki.dir}/missing.pem` })
    expect(code).toBe(1)
    expect(output).toContain(`VAULT_CACERT: cannot read ${pki.dir}/missing.pem`)
  })
})

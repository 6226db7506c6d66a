// Reaching a private Vault from a Worker (workerd, through Miniflare): with vault.binding set,
// every Vault request goes through that binding, with the Cloudflare Access service token
// headers, and none through the global fetch. The same for the issuer with clusters[].binding.
// A second binding is workerd's own mTLS client (what an [[mtls_certificates]] binding does)
// talking to an OpenBao that requires client certificates.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { startOpenBao, type OpenBao } from '../support/openbao.ts'
import { DEMO_AUDIENCE, seedDemo } from '../support/seed-openbao.ts'
import { createTestPki, type TestPki } from '../support/test-pki.ts'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const ACCESS = { id: 'abc123.access', secret: 'access-secret-9f3e1c7a' }
const ISSUER_ACCESS = { id: 'issuer.access', secret: 'issuer-access-secret-55d1' }

interface Seen {
  url: string
  accessId: string | null
  accessSecret: string | null
}

/**
 * What Cloudflare Access and a tunnel do in front of a private service: refuse a request without
 * the service token, strip the token, forward the rest to `target` (default: the URL's own origin,
 * which the test process can reach). Records every request.
 */
function privateService(target: string | undefined, token: { id: string; secret: string }, seen: Seen[]) {
  return async (request: Request): Promise<Response> => {
    const accessId = request.headers.get('CF-Access-Client-Id')
    const accessSecret = request.headers.get('CF-Access-Client-Secret')
    seen.push({ url: request.url, accessId, accessSecret })
    if (accessId !== token.id || accessSecret !== token.secret) return new Response('Forbidden by Access', { status: 403 })
    const url = new URL(request.url)
    const headers = new Headers(request.headers)
    headers.delete('CF-Access-Client-Id')
    headers.delete('CF-Access-Client-Secret')
    // fetch sets these itself from the URL and the body.
    headers.delete('host')
    headers.delete('content-length')
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer()
    const upstream = await fetch(`${target ?? url.origin}${url.pathname}${url.search}`, { method: request.method, headers, body, redirect: 'manual' })
    return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers: upstream.headers })
  }
}

const podToken = () => mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], expirationSeconds: 600 })

describe('vault.binding and clusters[].binding in workerd', () => {
  const vaultSeen: Seen[] = []
  const issuerSeen: Seen[] = []
  const outbound: string[] = []
  let broker: WorkerdBroker

  beforeAll(async () => {
    const config = demoBrokerConfig({ issuerUrl, openbaoAddr, extra: {} })
    broker = await startBrokerInWorkerd(
      {
        BROKER_CONFIG: JSON.stringify({
          ...config,
          // The addresses stay what Vault and the issuer are called; the bindings carry the requests.
          clusters: [{ ...config.clusters[0], binding: 'ISSUER', cfAccess: { clientId: 'ISSUER_CF_ACCESS_CLIENT_ID', clientSecret: 'ISSUER_CF_ACCESS_CLIENT_SECRET' } }],
          vault: { ...config.vault, binding: 'VAULT' },
        }),
        VAULT_CF_ACCESS_CLIENT_ID: ACCESS.id,
        VAULT_CF_ACCESS_CLIENT_SECRET: ACCESS.secret,
        ISSUER_CF_ACCESS_CLIENT_ID: ISSUER_ACCESS.id,
        ISSUER_CF_ACCESS_CLIENT_SECRET: ISSUER_ACCESS.secret,
      },
      {
        serviceBindings: {
          VAULT: privateService(openbaoAddr, ACCESS, vaultSeen),
          ISSUER: privateService(undefined, ISSUER_ACCESS, issuerSeen),
        },
        // The global fetch leads nowhere: anything sent there is recorded and refused.
        outboundService: (request: Request) => {
          outbound.push(request.url)
          return new Response('no route', { status: 502 })
        },
      },
    )
  })
  afterAll(() => broker?.stop())

  it('reads a secret with every Vault and issuer request through its binding, with its Access token, and none through the global fetch', async () => {
    const token = await podToken()
    const first = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${token}` } })
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({ username: 'demo-user' })
    const ready = await fetch(`${broker.url}/readyz`)
    expect(ready.status).toBe(200)

    expect(vaultSeen.map((seen) => new URL(seen.url).pathname)).toEqual(expect.arrayContaining(['/v1/auth/jwt/login', '/v1/secret/data/myapp/config', '/v1/sys/health']))
    expect(vaultSeen.every((seen) => seen.accessId === ACCESS.id && seen.accessSecret === ACCESS.secret)).toBe(true)
    expect(issuerSeen.length).toBeGreaterThanOrEqual(1)
    expect(issuerSeen.every((seen) => seen.accessId === ISSUER_ACCESS.id && seen.accessSecret === ISSUER_ACCESS.secret)).toBe(true)
    expect(outbound).toEqual([])
  })

  it('never logs the Access service token', () => {
    expect(broker.output()).not.toContain(ACCESS.secret)
    expect(broker.output()).not.toContain(ISSUER_ACCESS.secret)
  })
})

describe('a binding Access refuses', () => {
  it('answers 403 vault_denied when the Access service token is wrong, the request still through the binding', async () => {
    const seen: Seen[] = []
    const outbound: string[] = []
    const broker = await startBrokerInWorkerd(
      {
        BROKER_CONFIG: JSON.stringify({ ...demoBrokerConfig({ issuerUrl, openbaoAddr }), vault: { address: openbaoAddr, authMount: 'jwt', binding: 'VAULT' } }),
        VAULT_CF_ACCESS_CLIENT_ID: ACCESS.id,
        VAULT_CF_ACCESS_CLIENT_SECRET: 'revoked-secret',
      },
      {
        serviceBindings: { VAULT: privateService(openbaoAddr, ACCESS, seen) },
        outboundService: (request: Request) => {
          // The issuer is reached through the global fetch in this one: let it through.
          if (request.url.startsWith(new URL(issuerUrl).origin)) return fetch(request.url, { headers: request.headers })
          outbound.push(request.url)
          return new Response('no route', { status: 502 })
        },
      },
    )
    try {
      const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config`, { headers: { Authorization: `Bearer ${await podToken()}` } })
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({ code: 'vault_denied' })
      expect(seen.length).toBeGreaterThanOrEqual(1)
      expect(outbound).toEqual([])
      expect(broker.output()).not.toContain('revoked-secret')
    } finally {
      await broker.stop()
    }
  })

  it('answers 503 misconfigured, logging the field, when vault.binding names no binding', async () => {
    const broker = await startBrokerInWorkerd({
      BROKER_CONFIG: JSON.stringify({ ...demoBrokerConfig({ issuerUrl, openbaoAddr }), vault: { address: openbaoAddr, binding: 'NO_SUCH_BINDING' } }),
    })
    try {
      const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config`, { headers: { Authorization: `Bearer ${await podToken()}` } })
      expect(response.status).toBe(503)
      expect(await response.json()).toMatchObject({ code: 'misconfigured' })
      expect(broker.output()).toContain('BROKER_CONFIG.vault.binding: no binding named NO_SUCH_BINDING')
    } finally {
      await broker.stop()
    }
  })
})

describe('an mTLS binding: workerd presents the client certificate', () => {
  let pki: TestPki
  let openbao: OpenBao
  let broker: WorkerdBroker
  const outbound: string[] = []

  beforeAll(async () => {
    pki = createTestPki()
    const ca = pki.createCa('vault')
    const server = ca.issueServer('openbao', ['localhost'])
    const client = ca.issueClient('vault-edge-worker')
    openbao = await startOpenBao({ tlsListener: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.cert } })
    await seedDemo(openbao, { issuerUrl, audience: DEMO_AUDIENCE })
    broker = await startBrokerInWorkerd(
      { BROKER_CONFIG: JSON.stringify({ ...demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.tlsAddress! }), vault: { address: openbao.tlsAddress!, authMount: 'jwt', binding: 'VAULT_MTLS' } }) },
      {
        serviceBindings: {
          VAULT_MTLS: {
            network: {
              allow: ['local'],
              tlsOptions: {
                keypair: { privateKey: readFileSync(client.key, 'utf8'), certificateChain: readFileSync(client.cert, 'utf8') },
                trustedCertificates: [readFileSync(ca.cert, 'utf8')],
              },
            },
          },
        },
        outboundService: (request: Request) => {
          if (request.url.startsWith(new URL(issuerUrl).origin)) return fetch(request.url, { headers: request.headers })
          outbound.push(request.url)
          return new Response('no route', { status: 502 })
        },
      },
    )
  })
  afterAll(async () => {
    await broker?.stop()
    await openbao?.stop()
    pki?.cleanup()
  })

  it('reads a secret from an OpenBao that requires and verifies client certificates', async () => {
    const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${await podToken()}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ username: 'demo-user' })
    expect(outbound).toEqual([])
    expect(await openbao.countRequests({ path: 'secret/data/myapp/config', operation: 'read' })).toBe(1)
  })
})

// Issue 12: a failed discovery or JWKS fetch is logged with the URL and the cause an operator can
// act on (DNS, refused, TLS, HTTP status, bad JSON), not `"reason":"Error"`. Real failures, each
// against a real socket (or a name that cannot resolve).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { createClusterKeys } from '../../src/identity/cluster-keys.ts'
import { getFreePort } from '../support/free-port.ts'
import { createRawLogger, createTestCache } from './token-lab.ts'

let server: Server
let base: string

beforeAll(async () => {
  // /status/500 answers 500; /not-json answers 200 with HTML; anything else a discovery document.
  server = createServer((req, res) => {
    if (req.url?.startsWith('/status/500')) res.writeHead(500).end('boom')
    else if (req.url?.startsWith('/not-json')) res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>')
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function failureLogged(cluster: Record<string, unknown>): Promise<{ url: string; reason: string; msg: string }> {
  const log = createRawLogger()
  const [config] = parseConfig(JSON.stringify({ clusters: [{ name: 'c', audiences: ['vault-edge'], ...cluster }], vault: { address: 'http://127.0.0.1:9' }, rules: [{ role: 'r', paths: ['secret/*'] }] })).clusters
  const keys = createClusterKeys(globalThis.fetch, await createTestCache(), { log })(config!)
  const jws = { token: 'h.p.s', encodedHeader: 'h', encodedPayload: 'p', signature: 's', header: {}, payload: {} }
  await expect(keys.candidateKeys({ alg: 'RS256', kid: 'k' }, jws)).rejects.toBeDefined()
  const line = log.lines.map((text) => JSON.parse(text) as { url: string; reason: string; msg: string }).find((entry) => entry.reason !== undefined)
  expect(line, log.lines.join('\n')).toBeDefined()
  return line!
}

describe('a failed discovery or JWKS fetch is logged with its URL and cause', () => {
  it('names a refused connection', async () => {
    const issuer = `http://127.0.0.1:${await getFreePort()}`
    const line = await failureLogged({ issuer })
    expect(line).toMatchObject({ url: `${issuer}/.well-known/openid-configuration`, reason: 'connection refused (ECONNREFUSED)' })
    expect(line.msg).toMatch(/OIDC discovery failed/)
  })

  it('names a DNS failure', async () => {
    // RFC 6761: .invalid never resolves.
    const line = await failureLogged({ issuer: 'https://oidc.vault-edge.invalid' })
    expect(line.reason).toMatch(/^DNS lookup failed/)
    expect(line.url).toBe('https://oidc.vault-edge.invalid/.well-known/openid-configuration')
  })

  it('names a TLS failure (https to a server that speaks plain http)', async () => {
    const line = await failureLogged({ issuer: base.replace('http:', 'https:') })
    expect(line.reason).toMatch(/^TLS failed/)
  })

  it('names the HTTP status of a JWKS endpoint', async () => {
    const line = await failureLogged({ issuer: 'https://issuer.example', jwksUri: `${base}/status/500/jwks` })
    expect(line).toMatchObject({ url: `${base}/status/500/jwks`, reason: 'answered HTTP 500' })
    expect(line.msg).toMatch(/JWKS fetch failed/)
  })

  it('names a JWKS answer that is not JSON', async () => {
    const line = await failureLogged({ issuer: 'https://issuer.example', jwksUri: `${base}/not-json` })
    expect(line).toMatchObject({ url: `${base}/not-json`, reason: 'answered 200 with a body that is not JSON' })
  })
})

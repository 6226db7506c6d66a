// The Node entry reaches Vault through undici.request (src/adapters/node-request-fetch.ts) where
// the other runtimes use fetch: against the same live HTTP server, the Vault client must give the
// same values and the same errors (status, code, Retry-After, timeouts, refused connections,
// bodies that break off) with either, and Vault must receive the same request.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeRequestFetch } from '../../src/adapters/node-request-fetch.ts'
import { describeFetchFailure } from '../../src/describe-fetch-failure.ts'
import { AppError } from '../../src/errors.ts'
import { createVaultClient, type VaultRequest } from '../../src/vault/vault-client.ts'
import { getFreePort } from '../support/free-port.ts'

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void
const handlers = new Map<string, Handler>()
const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = []
let server: ReturnType<typeof createServer>
let address: string

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      const { 'x-vault-token': token, 'x-vault-namespace': namespace, 'content-type': type, 'x-extra': extra } = request.headers
      seen.push({ method: request.method!, url: request.url!, headers: { token, namespace, type, extra }, body })
      handlers.get(request.url!.split('?')[0]!.replace('/v1/', ''))!(request, body, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Handler => (_request, _body, response) => {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  response.end(typeof value === 'string' ? value : JSON.stringify(value))
}

const TRANSPORTS = [['fetch', globalThis.fetch], ['undici.request', createNodeRequestFetch()]] as const

/** What the Vault client gives with each transport: a value, or the error's status, code, headers and cause. */
async function outcomes(path: string, request: VaultRequest = {}, method: 'GET' | 'POST' = 'GET', timeoutMs = 1000, base = address) {
  const results = []
  for (const [, fetchImpl] of TRANSPORTS) {
    const vault = createVaultClient({ address: base, namespace: 'team-a', timeoutMs, fetch: fetchImpl })
    seen.length = 0
    const result = await vault(method, path, request).then(
      (value) => ({ value }),
      (error: unknown) => (error instanceof AppError
        ? { status: error.status, code: error.code, headers: error.headers, logReason: error.logReason, cause: describeFetchFailure(error.cause) }
        : { thrown: String(error) }),
    )
    results.push({ result, seen: [...seen] })
  }
  expect(results[1]).toEqual(results[0])
  return results[0]!
}

describe('undici.request transport, next to fetch', () => {
  it('sends the same request and gives the same value, numbers in Vault\'s spelling and a BOM included', async () => {
    handlers.set('secret/data/app', json(200, '{"data":{"data":{"a":"x","n":1.0,"big":12345678901234567890,"z":-0},"metadata":{"created_time":"2026-12-02T11:57:03.123Z","version":1}}}'))
    const read = await outcomes('secret/data/app', { token: 's.token', headers: { 'X-Extra': 'yes' } })
    expect(read.seen).toEqual([{ method: 'GET', url: '/v1/secret/data/app', headers: { token: 's.token', namespace: 'team-a', type: undefined, extra: 'yes' }, body: '' }])
    expect(JSON.stringify((read.result as { value: unknown }).value)).toContain('"n":1.0,"big":12345678901234567890,"z":-0')

    // Node's Response.text() drops up to two leading BOMs: so must the other transport.
    handlers.set('auth/jwt/login', json(200, '\uFEFF\uFEFF\uFEFF{"auth":{"client_token":"t"}}'))
    expect((await outcomes('auth/jwt/login', { body: { role: 'r', jwt: 'j' } }, 'POST')).result).toMatchObject({ code: 'vault_error' })
    handlers.set('auth/jwt/login', json(200, '\uFEFF\uFEFF{"auth":{"client_token":"t","lease_duration":60}}'))
    expect((await outcomes('auth/jwt/login', { body: { role: 'r', jwt: 'j' } }, 'POST')).result).toEqual({ value: { auth: { client_token: 't', lease_duration: 60 } } })
    handlers.set('auth/jwt/login', json(200, '\uFEFF{"auth":{"client_token":"t","lease_duration":60}}'))
    const login = await outcomes('auth/jwt/login', { body: { role: 'r', jwt: 'j' } }, 'POST')
    expect(login.seen[0]).toMatchObject({ method: 'POST', headers: { type: 'application/json' }, body: '{"role":"r","jwt":"j"}' })
    expect(login.result).toEqual({ value: { auth: { client_token: 't', lease_duration: 60 } } })
  })

  it.each([400, 403, 404, 405, 412, 429, 500, 502, 503, 600])('maps Vault %i the same way', async (status) => {
    handlers.set('secret/data/status', json(status, { errors: ['permission denied on secret/data/other'] }, status === 429 ? { 'Retry-After': '17' } : {}))
    const { result } = await outcomes('secret/data/status', { token: 't' })
    expect(result).toHaveProperty('code')
  })

  it('gives undefined for a 204, and does not follow a redirect', async () => {
    handlers.set('sys/nothing', (_request, _body, response) => response.writeHead(204).end())
    expect((await outcomes('sys/nothing', {}, 'POST')).result).toEqual({ value: undefined })
    handlers.set('secret/data/moved', (_request, _body, response) => response.writeHead(307, { Location: `${address}/v1/secret/data/app` }).end('moved'))
    const moved = await outcomes('secret/data/moved', { token: 't' })
    expect(moved.result).toMatchObject({ status: 502, code: 'vault_error' })
    expect(moved.seen).toHaveLength(1)
  })

  it('answers 504 when the headers do not come in time, and when the body stalls after them', async () => {
    handlers.set('secret/data/silent', () => {})
    expect((await outcomes('secret/data/silent', {}, 'GET', 150)).result).toMatchObject({ status: 504, code: 'vault_timeout', cause: 'timed out' })
    handlers.set('secret/data/stalls', (_request, _body, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' })
      response.write('{"data": {"password": ')
    })
    expect((await outcomes('secret/data/stalls', {}, 'GET', 150)).result).toMatchObject({ status: 504, code: 'vault_timeout', cause: 'timed out' })
  })

  it('answers 502 for a body that breaks off or is not JSON, 503 for a refused connection', async () => {
    handlers.set('secret/data/cut', (_request, _body, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' })
      response.write('{"data": {"password": ', () => response.socket?.destroy())
    })
    expect((await outcomes('secret/data/cut')).result).toMatchObject({ status: 502, code: 'vault_error' })
    handlers.set('secret/data/html', (_request, _body, response) => response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>'))
    expect((await outcomes('secret/data/html')).result).toMatchObject({ status: 502, code: 'vault_error' })
    const refused = await outcomes('secret/data/app', {}, 'GET', 1000, `http://127.0.0.1:${await getFreePort()}`)
    expect(refused.result).toMatchObject({ status: 503, code: 'vault_unavailable', cause: 'connection refused (ECONNREFUSED)' })
  })

  it('leaves to fetch what it does not model: redirects followed (the /readyz probe)', async () => {
    handlers.set('sys/health', json(200, { initialized: true }))
    const fetchImpl = createNodeRequestFetch()
    const response = await fetchImpl(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(1000) })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ initialized: true })
  })
})

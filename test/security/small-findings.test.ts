// Issue 10's smaller findings from the security review: nosniff on every response, compressed
// request bodies refused (415), the Worker's 503 misconfigured answered like every other error,
// and `.`/`..` segments in the URL resolved before the rules see the path (as the README says).
import { connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { outputOnceItShows } from '../support/child-process.ts'
import { nodeHttpGet } from '../support/node-http-get.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { startBrokerInWorkerd } from '../support/workerd-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: ProcessBroker
let token: string

beforeAll(async () => {
  broker = await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', pod: `myapp-${randomUUID().slice(0, 8)}`, audiences: [BROKER_AUDIENCE] })
})
afterAll(() => broker?.stop())

/** The request line sent byte for byte: fetch and URL would resolve the dot segments first. */
const rawGet = (path: string, headers: Record<string, string> = {}) => nodeHttpGet(`${broker.url}/`, { path, headers })

describe('X-Content-Type-Options: nosniff', () => {
  it('is on every kind of response: health, metrics, secrets, problems, unknown endpoints', async () => {
    const auth = { Authorization: `Bearer ${token}` }
    for (const [path, headers] of [
      ['/healthz', {}],
      ['/openapi.json', {}],
      ['/metrics', {}],
      ['/v1/secrets/secret/data/myapp/config', auth],
      ['/v1/secrets/secret/data/myapp/config', {}],
      ['/v1/secrets/secret/data/other/x', auth],
      ['/nope', {}],
    ] as const) {
      const response = await fetch(`${broker.url}${path}`, { headers })
      await response.arrayBuffer()
      expect(response.headers.get('X-Content-Type-Options'), path).toBe('nosniff')
    }
  })

  it('is on the problem the Node adapter answers for a request Hono never sees (a malformed Host)', async () => {
    const { port } = new URL(broker.url)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end('GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'))
      let text = ''
      socket.on('data', (chunk) => (text += chunk.toString()))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    expect(answer).toMatch(/x-content-type-options: nosniff/i)
    expect(answer).toMatch(/x-request-id: [0-9a-f-]{36}/i)
  })
})

describe('a request body with Content-Encoding', () => {
  it('is refused with 415 problem+json before it is read', async () => {
    const body = gzipSync(JSON.stringify({ secrets: [{ path: 'secret/data/myapp/config' }] }))
    for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
      const response = await fetch(`${broker.url}/v1/bundle`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        body,
      })
      expect(response.status, encoding).toBe(415)
      expect(response.headers.get('Content-Type')).toBe('application/problem+json')
      expect(response.headers.get('Accept-Encoding')).toBe('identity')
      expect(await response.json()).toMatchObject({ status: 415, code: 'unsupported_encoding' })
    }
  })

  it('is read as usual when the encoding is identity', async () => {
    const response = await fetch(`${broker.url}/v1/bundle`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Encoding': 'identity' },
      body: JSON.stringify({ secrets: [{ path: 'secret/data/myapp/config' }] }),
    })
    expect(response.status).toBe(200)
  })
})

describe('. and .. segments in the request URL', () => {
  it('are resolved before the rules see the path (RFC 3986 §5.2.4), so the rules judge the path Vault gets', async () => {
    const auth = { Authorization: `Bearer ${token}` }
    // Resolves to secret/data/myapp/config: allowed, and that is what is read.
    const inside = await rawGet('/v1/secrets/secret/data/other-team/../myapp/./config', auth)
    expect(inside.status).toBe(200)
    expect(JSON.parse(inside.body)).toHaveProperty('username')
    // Resolves to secret/data/other-team/db: outside the rule, 403 before Vault.
    const outside = await rawGet('/v1/secrets/secret/data/myapp/../other-team/db', auth)
    expect(outside.status).toBe(403)
    expect(JSON.parse(outside.body)).toMatchObject({ code: 'forbidden' })
    expect(await outputOnceItShows(() => broker.output(), '"path":["secret/data/other-team/db"]')).toContain('"path":["secret/data/other-team/db"]')
  })

  it('are resolved percent-encoded too (the URL standard reads %2e as a dot), with the same rule check', async () => {
    const auth = { Authorization: `Bearer ${token}` }
    expect((await rawGet('/v1/secrets/secret/data/myapp/%2e%2e/other-team/db', auth)).status).toBe(403)
    expect((await rawGet('/v1/secrets/secret/data/myapp/%2E/config', auth)).status).toBe(200)
  })

  it('are a 400 in paths given in a request body, where no URL parser resolves them', async () => {
    for (const path of ['secret/data/myapp/../other-team/db', 'secret/data/myapp/./config']) {
      const response = await fetch(`${broker.url}/v1/bundle`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ secrets: [{ path }] }),
      })
      expect(response.status, path).toBe(400)
      expect(await response.json()).toMatchObject({ code: 'invalid_path' })
    }
  })
})

describe("the Worker's 503 misconfigured", () => {
  it('carries Cache-Control: no-store, nosniff and an X-Request-Id equal to the body\'s requestId', async () => {
    const worker = await startBrokerInWorkerd({ BROKER_CONFIG: '{"clusters": [' })
    try {
      const response = await fetch(`${worker.url}/v1/secrets/secret/data/myapp/config`)
      expect(response.status).toBe(503)
      expect(response.headers.get('Cache-Control')).toBe('no-store')
      expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
      const body = (await response.json()) as { code: string; requestId: string }
      expect(body.code).toBe('misconfigured')
      expect(response.headers.get('X-Request-Id')).toBe(body.requestId)
      // …and has its audit line, like every /v1 request.
      const line = new RegExp(`"type":"audit".*"requestId":"${body.requestId}".*"status":503,"code":"misconfigured"`)
      expect(await outputOnceItShows(() => worker.output(), line)).toMatch(line)
    } finally {
      await worker.stop()
    }
  })
})

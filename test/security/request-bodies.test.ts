// Bodies of POST /v1/secrets (issuing), /v1/bundle and /v1/render come from any pod with a
// valid token: however they are sent or shaped, they cost bounded memory and get a 4xx.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { MAX_BODY_BYTES } from '../../src/routes/read-body.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: Broker
let token: string
let vaultCalls = 0

beforeAll(async () => {
  const config = demoBrokerConfig({ issuerUrl, openbaoAddr })
  // An issuing path, so POST /v1/secrets reads and forwards a body.
  const rules = [{ ...config.rules[0], issuingPaths: ['secret/data/myapp/issued'] }, ...config.rules.slice(1)]
  const counting: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).startsWith(openbaoAddr)) vaultCalls++
    return fetch(input, init)
  }
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify({ ...config, rules }) }, { fetch: counting, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

/** A chunked body (no Content-Length) of `totalBytes` spaces, counting what the broker pulls. */
function endlessBody(totalBytes: number) {
  const chunk = new Uint8Array(16 * 1024).fill(0x20)
  const state = { pulled: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= totalBytes) return controller.close()
      state.pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  return { stream, state }
}

const post = (path: string, body: BodyInit, contentType = 'application/json') =>
  broker.app.request(path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body,
    duplex: 'half',
  } as RequestInit)

describe('request bodies', () => {
  it('stops reading a chunked body without Content-Length once it passes the limit', async () => {
    for (const [path, contentType] of [['/v1/bundle', 'application/json'], ['/v1/render', 'text/plain'], ['/v1/secrets/secret/data/myapp/issued', 'application/json']] as const) {
      const { stream, state } = endlessBody(256 * 1024 * 1024)
      const response = await post(path, stream, contentType)
      expect(response.status, path).toBe(413)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({ code: 'too_large' })
      // Unbounded, the broker read all 256 MiB into one string before answering.
      expect(state.pulled, path).toBeLessThan(MAX_BODY_BYTES + 64 * 1024)
    }
  })

  it('still reads a chunked body under the limit, byte for byte', async () => {
    const template = '{{ with secret "secret/data/myapp/config" }}{{ .Data.data.username }} é{{ end }}'
    const bytes = new TextEncoder().encode(template)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]))
        controller.close()
      },
    })
    const response = await post('/v1/render', stream, 'text/plain')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('demo-user é')
  })

  it('answers 400, not a 5xx, to an issuing body nested deeper than Vault accepts, without calling Vault', async () => {
    vaultCalls = 0
    const deep = `{"common_name":${'['.repeat(20_000)}${']'.repeat(20_000)}}`
    const response = await post('/v1/secrets/secret/data/myapp/issued', deep)
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ code: 'invalid_body' })
    expect(vaultCalls).toBe(0)
  })

  it('does not count brackets inside strings as nesting', async () => {
    const response = await post('/v1/bundle', JSON.stringify({ secrets: [{ path: 'secret/data/myapp/config', prefix: '['.repeat(1000) }] }))
    // The prefix is only for env formats; json ignores it. What matters: not refused as nested.
    expect(response.status).toBe(200)
  })
})

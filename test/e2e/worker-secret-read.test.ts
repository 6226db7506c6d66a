// The first secret end to end, with the broker running as a Worker in workerd: a pod's
// ServiceAccount token in, OpenBao jwt login with it, KV v2 read, rendered out.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: WorkerdBroker

const podToken = (serviceAccount: string, namespace = 'demo') =>
  mintToken(issuerUrl, { namespace, serviceAccount, audiences: [BROKER_AUDIENCE], expirationSeconds: 600 })

const get = (path: string, token: string | undefined, headers: Record<string, string> = {}) =>
  fetch(`${broker.url}${path}`, { headers: token === undefined ? headers : { ...headers, Authorization: `Bearer ${token}` } })

beforeAll(async () => {
  broker = await startBrokerInWorkerd({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) })
})
afterAll(() => broker?.stop())

describe('a pod reading its secret from the broker in workerd', () => {
  it('gets KV v2 data as an env file it can source', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config?format=env', await podToken('myapp'))
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toBe(`export PASSWORD='s3cr3t-'\\''quoted'\\'' $HOME'\nexport USERNAME='demo-user'\n`)
  })

  it('gets the same data as JSON', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config?format=json', await podToken('myapp'))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.json()).toEqual({ username: 'demo-user', password: "s3cr3t-'quoted' $HOME" })
  })

  it('serves the second read from the cache', async () => {
    const token = await podToken('myapp')
    await get('/v1/secrets/secret/data/myapp/config', token)
    const again = await get('/v1/secrets/secret/data/myapp/config', token)
    // fetch() sent `Cache-Control: no-cache` with it (Fetch standard): still served from the cache.
    expect(again.headers.get('x-cache')).toBe('hit')
  })

  it('answers 304 to a matching If-None-Match and keeps the cache headers', async () => {
    const token = await podToken('myapp')
    const first = await get('/v1/secrets/secret/data/myapp/config?format=env', token)
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^"[0-9a-f]{40,}"$/)
    const again = await get('/v1/secrets/secret/data/myapp/config?format=env', token, { 'If-None-Match': etag })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    // fetch() sent `Cache-Control: no-cache` with it (Fetch standard): still served from the cache.
    expect(again.headers.get('x-cache')).toBe('hit')
  })

  it('answers 403 to a pod of another ServiceAccount for the same path (Vault denies its login)', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config?format=env', await podToken('intruder'))
    expect(response.status).toBe(403)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ status: 403, code: 'vault_denied' })
  })

  it('logs why requests were refused, never a token or a secret value', async () => {
    const token = await podToken('myapp')
    await get('/v1/secrets/secret/data/myapp/config', token)
    await get('/v1/secrets/secret/data/myapp/config?format=nope', token)
    const output = broker.output()
    expect(output).toContain('"code":"unknown_format"')
    expect(output).not.toContain(token.split('.')[1])
    expect(output).not.toContain('demo-user')
    expect(output).not.toContain('s3cr3t')
  })

  it('answers 403 before Vault to a ServiceAccount no rule names', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config', await podToken('myapp', 'other-namespace'))
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'forbidden' })
  })
})

describe('bad input gets problem+json, never a 500', () => {
  it('answers 401 with WWW-Authenticate to a request without Authorization', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config', undefined)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ status: 401, code: 'invalid_token' })
  })

  it.each([['Basic dXNlcjpwYXNz'], ['Bearer'], ['Bearer not a token'], ['Bearer a.b.c'], ['Bearer ' + 'x'.repeat(20_000)]])(
    'answers 401 to the malformed Authorization %#',
    async (authorization) => {
      const response = await get('/v1/secrets/secret/data/myapp/config', undefined, { Authorization: authorization })
      expect(response.status).toBe(401)
      const body = await response.text()
      const credential = authorization.split(' ')[1]
      if (credential) expect(body).not.toContain(credential.slice(0, 30))
    },
  )

  it('answers 400 to an unknown format', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config?format=xml', await podToken('myapp'))
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ status: 400, code: 'unknown_format' })
  })

  it('answers 400 to a path with a .. segment', async () => {
    const response = await get('/v1/secrets/secret/data/myapp%2F..%2Fother', await podToken('myapp'))
    expect(response.status).toBe(400)
  })

  it('answers 404 problem+json to an unknown endpoint', async () => {
    const response = await get('/nope', undefined)
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
  })

  it('answers /healthz', async () => {
    const response = await get('/healthz', undefined)
    expect(await response.json()).toEqual({ status: 'ok' })
  })
})

describe('request ids', () => {
  it('gives every response its own X-Request-Id, ignoring one the client sent', async () => {
    const response = await get('/v1/secrets/secret/data/myapp/config', undefined, { 'X-Request-Id': 'spoofed-id' })
    const id = response.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(await response.json()).toMatchObject({ requestId: id })
  })
})

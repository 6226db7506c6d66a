// GET /openapi.json documents every route the app serves; GET /metrics counts in the
// Prometheus text format (Node and Deno) and never names a path or a secret.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const BROKER_CONFIG = JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr }))
let withMetrics: Broker
let withoutMetrics: Broker

beforeAll(async () => {
  withMetrics = await createBroker({ BROKER_CONFIG }, { fetch: globalThis.fetch, log: createMemoryLogger(), metrics: true })
  withoutMetrics = await createBroker({ BROKER_CONFIG }, { fetch: globalThis.fetch, log: createMemoryLogger() })
})

// Hono route paths (`/v1/secrets/*`) in OpenAPI's spelling (`/v1/secrets/{path}`).
const asOpenApiPath = (path: string) => path.replace(/\/\*$/, '/{path}')

describe('GET /openapi.json', () => {
  it('documents every method and path the app routes, and no other', async () => {
    const document = (await (await withMetrics.app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(document.openapi).toBe('3.1.0')
    const routed = new Set(
      withMetrics.app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${asOpenApiPath(route.path)}`),
    )
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)),
    )
    expect([...documented].sort()).toEqual([...routed].sort())
  })
})

describe('GET /metrics', () => {
  it('counts responses by route group and status, and reads by cache outcome', async () => {
    const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
    const read = () => withMetrics.app.request('/v1/secrets/secret/data/myapp/config', { headers: { Authorization: `Bearer ${token}` } })
    expect((await read()).status).toBe(200)
    expect((await read()).status).toBe(200)
    await withMetrics.app.request('/v1/secrets/secret/data/myapp/config')

    const response = await withMetrics.app.request('/metrics')
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    expect(text).toContain('# TYPE vault_edge_http_requests_total counter')
    expect(text).toContain('vault_edge_http_requests_total{route="/v1/secrets",status="200"} 2')
    expect(text).toContain('vault_edge_http_requests_total{route="/v1/secrets",status="401"} 1')
    expect(text).toContain('vault_edge_secret_reads_total{cache="miss"} 1')
    expect(text).toContain('vault_edge_secret_reads_total{cache="hit"} 1')
    expect(text).not.toContain('myapp')
  })

  it('is not served where metrics are off (Workers: per-isolate counts would mislead)', async () => {
    const response = await withoutMetrics.app.request('/metrics')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
  })
})

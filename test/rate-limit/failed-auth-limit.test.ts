// Issue 10, "Rate limits": a flood of bad tokens from one address is answered 429 with
// Retry-After while other addresses are served, and two broker processes sharing Redis count it
// together. Brokers run as Node processes; the good client connects from another loopback
// address (127.0.0.2), which the broker sees as the socket's peer.
import { randomBytes, randomUUID } from 'node:crypto'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { outputOnceItShows } from '../support/child-process.ts'
import { nodeHttpGet } from '../support/node-http-get.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const CONFIG_PATH = 'secret/data/myapp/config'
const LIMIT = 100
const brokers: ProcessBroker[] = []
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()))
})

/** GET from a chosen local address (node:http can bind it; fetch cannot). */
const getFrom = (localAddress: string, url: string, token: string) => nodeHttpGet(url, { localAddress, headers: { Authorization: `Bearer ${token}` } })

/** `count` bad-token requests, `concurrency` at a time, spread over the brokers in turn. */
async function badTokenFlood(urls: string[], count: number, concurrency: number): Promise<{ status: number; retryAfter: string | undefined; body: string }[]> {
  const results: { status: number; retryAfter: string | undefined; body: string }[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++
        const forged = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`
        const response = await getFrom('127.0.0.1', `${urls[index % urls.length]}/v1/secrets/${CONFIG_PATH}`, forged)
        results.push({ status: response.status, retryAfter: response.headers['retry-after'] as string | undefined, body: response.body })
      }
    }),
  )
  return results
}

const config = () => JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr, extra: { limits: { failedAuth: { perAddress: LIMIT, windowSeconds: 60 } } } }))

describe('failed authentications per client address', () => {
  it('answers 300 bad tokens from one address in 10 s with 429s and Retry-After, while another address is served', async () => {
    const broker = await startProcessBroker('node', { BROKER_CONFIG: config() })
    brokers.push(broker)
    const good = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', pod: `myapp-${randomUUID().slice(0, 8)}`, audiences: [BROKER_AUDIENCE] })
    const startedAt = Date.now()
    const [flood, served] = await Promise.all([
      badTokenFlood([broker.url], 300, 10),
      (async () => {
        const statuses: number[] = []
        for (let i = 0; i < 10; i++) statuses.push((await getFrom('127.0.0.2', `${broker.url}/v1/secrets/${CONFIG_PATH}`, good)).status)
        return statuses
      })(),
    ])
    expect(Date.now() - startedAt).toBeLessThan(10_000)
    const refused = flood.filter((result) => result.status === 429)
    expect(flood.filter((result) => result.status === 401).length).toBeLessThanOrEqual(LIMIT + 10)
    expect(refused.length).toBeGreaterThanOrEqual(300 - LIMIT - 10)
    for (const result of refused) {
      expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(Number(result.retryAfter)).toBeLessThanOrEqual(60)
      expect(JSON.parse(result.body)).toMatchObject({ status: 429, code: 'rate_limited' })
    }
    expect(served).toEqual(Array(10).fill(200))
    // The address that flooded is refused whatever it sends, a good token included.
    expect((await getFrom('127.0.0.1', `${broker.url}/v1/secrets/${CONFIG_PATH}`, good)).status).toBe(429)
    const metrics = await (await fetch(`${broker.url}/metrics`)).text()
    expect(metrics).toMatch(/^vault_edge_rate_limited_total\{limit="failed_auth"\} \d+$/m)
  })

  it('counts by the socket address on Deno too', async () => {
    const broker = await startProcessBroker('deno', {
      BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr, extra: { limits: { failedAuth: { perAddress: 5, windowSeconds: 60 } } } })),
    })
    brokers.push(broker)
    const statuses = (await badTokenFlood([broker.url], 10, 1)).map((result) => result.status)
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(5).fill(429)])
    expect(await outputOnceItShows(() => broker.output(), '"client":"127.0.0.1"')).toContain('"client":"127.0.0.1"')
  })

  it('holds across two broker processes sharing Redis', async () => {
    const shared = {
      BROKER_CONFIG: config(),
      UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
      // Same key in both: the address reaches Redis as the same pseudonym (seal.ts).
      CACHE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    }
    brokers.push(...(await Promise.all([startProcessBroker('node', shared), startProcessBroker('node', shared)])))
    const flood = await badTokenFlood(brokers.map((broker) => broker.url), 300, 4)
    const unauthorized = flood.filter((result) => result.status === 401).length
    // Alone, each process would let LIMIT through: 2 × LIMIT.
    expect(unauthorized).toBeGreaterThanOrEqual(LIMIT)
    expect(unauthorized).toBeLessThanOrEqual(LIMIT + 4 + 2)
    expect(flood.filter((result) => result.status === 429).length).toBe(300 - unauthorized)
    for (const broker of brokers) expect(broker.output()).not.toContain('abuse limit not counted')
  })
})

// Issue 13: secrets of any size. KV v2 values of 100 KB, 1 MB and just over the cache's entry
// limit (CACHE_MAX_ENTRY_BYTES), read as json, env and raw from the broker on Node and in workerd,
// with the memory store and with Redis behind the Upstash protocol: up to the limit they are
// cached (the next read is a hit); above it they are served uncached (docs/cache.md), never a
// 500, and each concurrent burst costs OpenBao one read (counted in OpenBao's audit log).
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CACHE_MAX_ENTRY_BYTES } from '../../src/cache/secure-cache.ts'
import { createOpenBaoClient } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'
import { cacheBrokerConfig, getSecret, grantServiceAccount, newEncryptionKey, podToken, putKv2, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken'), auditLogPath: inject('openbaoAuditLog') })
const NS = 'cache-large'

/** A value of `length` ASCII characters that no shell or JSON escapes (so bodies compare exactly). */
const valueOf = (length: number, seed: string) => (seed + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(length / 36))).slice(0, length)

const SIZES = [
  { name: '100 KB', length: 100_000, cached: true },
  { name: '1 MB', length: 1_000_000, cached: true },
  // The entry holds the value plus Vault's envelope: a value as long as the limit is just over it.
  { name: 'just over the limit', length: CACHE_MAX_ENTRY_BYTES, cached: false },
] as const

const FORMATS = [
  { query: 'format=json', body: (value: string) => `${JSON.stringify({ value })}\n` },
  { query: 'format=env', body: (value: string) => `export VALUE='${value}'\n` },
  { query: 'format=raw&key=value', body: (value: string) => value },
] as const

interface Target {
  name: string
  serviceAccount: string
  start(): Promise<{ url: string; stop(): Promise<void> }>
}

let redis: CacheRedis
// Vault answers 300 ms late, as over a real network: the reads of a burst all arrive while its
// first read is still out, even on a loaded machine (otherwise a late one is a burst of its own).
const VAULT_LATENCY_MS = 300
let slowVault: Server
let slowVaultUrl: string
const started: { stop(): Promise<void> }[] = []
// Each target reads as its own ServiceAccount, so no two share an entry through Redis.
const bindings = (withRedis: boolean): Record<string, string> => ({
  BROKER_CONFIG: JSON.stringify(cacheBrokerConfig({ issuerUrl, openbaoAddr: slowVaultUrl, namespace: NS, cache: { kvTtlSeconds: 300 } })),
  ...(withRedis ? { UPSTASH_REDIS_REST_URL: redis.shim.url, UPSTASH_REDIS_REST_TOKEN: redis.shim.token, CACHE_ENCRYPTION_KEY: newEncryptionKey() } : {}),
})

const TARGETS: Target[] = [
  { name: 'Node, memory store', serviceAccount: 'node-memory', start: () => startProcessBroker('node', bindings(false)) },
  { name: 'Node, Redis (Upstash protocol)', serviceAccount: 'node-redis', start: () => startProcessBroker('node', bindings(true)) },
  { name: 'workerd, memory store', serviceAccount: 'workerd-memory', start: () => startBrokerInWorkerd(bindings(false)) },
  { name: 'workerd, Redis (Upstash protocol)', serviceAccount: 'workerd-redis', start: () => startBrokerInWorkerd(bindings(true)) },
]

beforeAll(async () => {
  slowVault = createServer((incoming, answer) => {
    setTimeout(() => {
      const upstream = request(`${openbao.address}${incoming.url}`, { method: incoming.method, headers: incoming.headers }, (response) => {
        answer.writeHead(response.statusCode!, response.headers)
        response.pipe(answer)
      })
      upstream.on('error', () => answer.destroy())
      incoming.pipe(upstream)
    }, VAULT_LATENCY_MS)
  })
  await new Promise<void>((resolve) => slowVault.listen(0, '127.0.0.1', resolve))
  slowVaultUrl = `http://127.0.0.1:${(slowVault.address() as AddressInfo).port}`
  redis = await startCacheRedis()
  for (const target of TARGETS) await grantServiceAccount(openbao, { namespace: NS, serviceAccount: target.serviceAccount, paths: [`secret/data/${NS}/*`] })
  for (const size of SIZES) await putKv2(openbao, `${NS}/${size.length}`, { value: valueOf(size.length, size.name) })
}, 60_000)
afterAll(async () => {
  await Promise.all(started.map((broker) => broker.stop()))
  await redis?.stop()
  slowVault?.closeAllConnections()
  await new Promise((resolve) => slowVault?.close(resolve))
})

describe.each(TARGETS)('the broker ($name) with large secrets', (target) => {
  let broker: { url: string } | ProcessBroker | WorkerdBroker
  let token: string
  beforeAll(async () => {
    const running = await target.start()
    started.push(running)
    broker = running
    token = await podToken(issuerUrl, NS, target.serviceAccount)
  }, 90_000)

  it.each(SIZES)('serves a $name value in every format, one OpenBao read per burst, cached only up to the limit', async (size) => {
    const path = `secret/data/${NS}/${size.length}`
    const value = valueOf(size.length, size.name)
    const burst = async () => {
      // Six open connections first, so the six reads reach the broker together, not one by one
      // as connections get set up (a read arriving after the first one finished is another burst).
      await Promise.all(Array.from({ length: 6 }, async () => (await fetch(`${broker.url}/healthz`)).arrayBuffer()))
      const mark = await openbao.auditMark()
      // Two of each format at once: one entry, so one Vault read for all six.
      const answers = await Promise.all(FORMATS.flatMap((format) => [format, format]).map(async (format) => ({ format, answer: await getSecret(broker.url, `${path}?${format.query}`, token) })))
      for (const { format, answer } of answers) {
        expect(answer.status).toBe(200)
        if (answer.body !== format.body(value)) expect([format.query, answer.body.slice(0, 200), answer.body.length]).toEqual([format.query, format.body(value).slice(0, 200), format.body(value).length])
      }
      expect(await openbao.countRequests({ path, since: mark })).toBe(1)
      return answers.map(({ answer }) => answer.headers.get('x-cache'))
    }

    const first = await burst()
    expect(first).toContain('miss')
    const mark = await openbao.auditMark()
    const again = await getSecret(broker.url, `${path}?format=json`, token)
    expect(again.status).toBe(200)
    if (size.cached) {
      expect(again.headers.get('x-cache')).toBe('hit')
      expect(await openbao.countRequests({ path, since: mark })).toBe(0)
    } else {
      // Above the limit: served from Vault every time, and every burst still costs one read.
      expect(again.headers.get('x-cache')).toBe('miss')
      expect(await openbao.countRequests({ path, since: mark })).toBe(1)
      expect(await burst()).toContain('miss')
      if (target.name.startsWith('Node')) {
        const metrics = await (await fetch(`${broker.url}/metrics`)).text()
        expect(metrics).toMatch(/^vault_edge_cache_uncacheable_total [1-9][0-9]*$/m)
      }
    }
  }, 60_000)
})

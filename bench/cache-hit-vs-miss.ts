// What the cache buys, side by side: pods reading straight from OpenBao (an init container that
// logs in and reads), the broker with a store that keeps nothing (only the in-process sharing of
// concurrent misses), and the broker with its cache (memory, and Redis through the Upstash
// protocol). Counts what OpenBao's audit log saw for 100 pod starts, and measures secret reads
// per second in this process (app.request, no HTTP; the direct column calls OpenBao over HTTP).
//
//   node_modules/.bin/node bench/cache-hit-vs-miss.ts      (Node 22; needs `bao` and redis-server)
//
// Numbers are ratios between the columns of one run on one machine, not absolute claims.
import { randomBytes } from 'node:crypto'
import type { Hono } from 'hono'
import type { AppEnv } from '../src/app-env.ts'
import { createApp, createServices } from '../src/app.ts'
import type { CacheStore } from '../src/cache/cache-store.ts'
import { createMemoryStore } from '../src/cache/memory-store.ts'
import { createSealer } from '../src/cache/seal.ts'
import { createLocalLevel } from '../src/cache/local-level.ts'
import { createSecureCache } from '../src/cache/secure-cache.ts'
import { createUpstashStore } from '../src/cache/upstash-store.ts'
import { parseConfig } from '../src/config.ts'
import { createMemoryLogger } from '../src/logger.ts'
import { cacheBrokerConfig, grantServiceAccount } from '../test/cache/support/cache-stack.ts'
import { inBatches } from './lib/concurrently.ts'
import { startClusterIssuer } from '../test/support/cluster-issuer.ts'
import { startOpenBao } from '../test/support/openbao.ts'
import { startPrivateRedis } from '../test/support/redis.ts'
import { configureJwtAuth, putKv2 } from '../test/support/seed-openbao.ts'
import { startUpstashShim } from '../test/support/upstash-shim.ts'

const NS = 'bench'
const PATH = `secret/data/${NS}/config`
const POD_STARTS = 100
const POD_CONCURRENCY = 10
const THROUGHPUT_REQUESTS = 2000
const THROUGHPUT_CONCURRENCY = 50

/** Keeps nothing: the broker without a cache. */
const noStore: CacheStore = {
  kind: 'memory',
  get: async () => null,
  set: async () => true,
  delete: async () => {},
  compareAndSet: async () => false,
  compareAndDelete: async () => false,
  addToSet: async () => {},
  setMembers: async () => [],
  removeFromSet: async () => {},
  ping: async () => {},
}

const [openbao, issuer, redis] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'RS256' }), startPrivateRedis()])
const shim = await startUpstashShim({ redisUrl: redis.url, token: randomBytes(16).toString('hex') })
try {
  await configureJwtAuth(openbao, { issuerUrl: issuer.issuer })
  await grantServiceAccount(openbao, { namespace: NS, serviceAccount: 'app', paths: [`secret/data/${NS}/*`] })
  await putKv2(openbao, `${NS}/config`, { username: 'bench', password: randomBytes(16).toString('hex') })
  const config = parseConfig(JSON.stringify(cacheBrokerConfig({ issuerUrl: issuer.issuer, openbaoAddr: openbao.address, namespace: NS })))
  const key = randomBytes(32).toString('base64')

  const variants: [string, () => CacheStore][] = [
    ['broker, store keeps nothing', () => noStore],
    ['broker, memory cache', () => createMemoryStore()],
    ['broker, Redis cache (Upstash protocol)', () => createUpstashStore({ url: shim.url, token: shim.token })],
  ]
  const rows: { name: string; vaultCalls: number; podStartMs: number; readsPerSecond: number }[] = []
  const mintPods = (tag: string) =>
    Promise.all(Array.from({ length: POD_STARTS }, (_, i) => issuer.mint({ namespace: NS, serviceAccount: 'app', audiences: ['vault-edge'], pod: `app-${tag}-${i}` })))

  // Without a broker: each pod logs in with its own token and reads (what an init container does).
  {
    const direct = async (jwt: string) => {
      const login = await openbao.apiOk<{ auth: { client_token: string } }>('POST', 'auth/jwt/login', { role: `${NS}-app`, jwt })
      const read = await openbao.api('GET', PATH, undefined, { token: login.auth.client_token })
      if (read.status !== 200) throw new Error(`direct read: HTTP ${read.status}`)
    }
    const pods = await mintPods('direct')
    await inBatches(pods.slice(0, 20), POD_CONCURRENCY, direct) // warm-up
    const mark = await openbao.auditMark()
    let started = performance.now()
    await inBatches(pods, POD_CONCURRENCY, direct)
    const podStartMs = performance.now() - started
    const vaultCalls = await openbao.countRequests({ since: mark })
    const tokens = Array.from({ length: THROUGHPUT_REQUESTS / 4 }, (_, i) => pods[i % pods.length]!)
    started = performance.now()
    await inBatches(tokens, THROUGHPUT_CONCURRENCY, direct)
    rows.push({ name: 'none: each pod logs in and reads', vaultCalls, podStartMs, readsPerSecond: tokens.length / ((performance.now() - started) / 1000) })
  }

  for (const [name, makeStore] of variants) {
    // "Keeps nothing" keeps nothing in the process's own level either (a zero-byte budget).
    const local = makeStore === variants[0]![1] ? createLocalLevel({ maxBytes: 0, now: Date.now }) : undefined
    const cache = createSecureCache(makeStore(), await createSealer(key), { local })
    const log = createMemoryLogger()
    const app: Hono<AppEnv> = createApp(createServices({ config, fetch, cache, now: Date.now, log }))
    const read = async (token: string) => {
      const response = await app.request(`/v1/secrets/${PATH}?format=env`, { headers: { Authorization: `Bearer ${token}` } })
      if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status} ${log.lines.slice(-3).join(' ')}`)
      await response.arrayBuffer()
    }
    // Verify one token first, so the JWKS fetch is not part of the numbers.
    await app.request('/v1/secrets/secret/data/outside-the-rules', { headers: { Authorization: `Bearer ${await issuer.mint({ namespace: NS, serviceAccount: 'app', audiences: ['vault-edge'] })}` } })

    // A Deployment of 100 replicas rolling: distinct pods of one ServiceAccount, 10 at a time.
    const pods = await mintPods(name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-$/, ''))
    const mark = await openbao.auditMark()
    let started = performance.now()
    await inBatches(pods, POD_CONCURRENCY, read)
    const podStartMs = performance.now() - started
    const vaultCalls = await openbao.countRequests({ since: mark })

    // Steady state: many reads by pods that already started.
    const tokens = Array.from({ length: THROUGHPUT_REQUESTS }, (_, i) => pods[i % pods.length]!)
    await inBatches(tokens.slice(0, THROUGHPUT_REQUESTS / 4), THROUGHPUT_CONCURRENCY, read) // warm-up
    started = performance.now()
    await inBatches(tokens, THROUGHPUT_CONCURRENCY, read)
    const readsPerSecond = THROUGHPUT_REQUESTS / ((performance.now() - started) / 1000)
    rows.push({ name, vaultCalls, podStartMs, readsPerSecond })
  }

  const base = rows[0]!
  console.log(`\n${POD_STARTS} pod starts of one ServiceAccount (${POD_CONCURRENCY} at a time), then ${THROUGHPUT_REQUESTS} reads (${THROUGHPUT_CONCURRENCY} at a time):\n`)
  console.log('| between pods and OpenBao | OpenBao requests per 100 pod starts | time for 100 pod starts | reads/s | reads/s vs none |')
  console.log('|---|---|---|---|---|')
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.vaultCalls} | ${row.podStartMs.toFixed(0)} ms | ${row.readsPerSecond.toFixed(0)} | ${(row.readsPerSecond / base.readsPerSecond).toFixed(1)}× |`)
  }
} finally {
  await shim.stop()
  await Promise.all([openbao.stop(), issuer.stop(), redis.stop()])
}

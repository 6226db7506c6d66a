// The same broker on each runtime it ships for, side by side in one run: Node, Deno, workerd
// (Miniflare, as the tests run the Worker) and `wrangler dev`. Each serves a cached secret read
// (`GET /v1/secrets/secret/data/myapp/config?format=env`: token verified, entry found in the
// memory cache and rendered, every answer checked to be 200 with `X-Cache: hit`) over real HTTP
// on loopback, and `GET /healthz` under the same load as the runtime's floor. The runtimes take
// turns, in 2 rounds (the second in reverse order), so drift of the machine spreads over all.
//
//   npm run bench:runtimes      (Node 22; needs `bao`; REQUESTS=2000 CONCURRENCY=32 by default)
//
// The client (fetch from this process) shares the machine's 2 cores with the server under test,
// so the numbers are ratios for this machine, not what a runtime does on its own cores.
// `wrangler dev` is Cloudflare's local development mode (workerd behind wrangler's proxy), not
// the speed of production Workers.
import { startClusterIssuer, type ClusterIssuer } from '../test/support/cluster-issuer.ts'
import { demoBrokerConfig } from '../test/support/broker-config.ts'
import { startOpenBao, type OpenBao } from '../test/support/openbao.ts'
import { startProcessBroker } from '../test/support/process-broker.ts'
import { seedDemo } from '../test/support/seed-openbao.ts'
import { startBrokerInWorkerd } from '../test/support/workerd-broker.ts'

const REQUESTS = positiveInt('REQUESTS', 2000)
const CONCURRENCY = positiveInt('CONCURRENCY', 32)
const WARM_UP = 200
const ROUNDS = 2
const SECRET_PATH = '/v1/secrets/secret/data/myapp/config?format=env'

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`)
  return value
}

interface Server {
  name: string
  url: string
  stop(): Promise<void>
}

interface Endpoint {
  label: string
  path: string
  check(response: Response): string | undefined
}

const endpoints: Endpoint[] = [
  {
    label: 'cached secret read',
    path: SECRET_PATH,
    check: (r) => (r.status !== 200 ? `HTTP ${r.status}` : r.headers.get('x-cache') !== 'hit' ? `X-Cache ${r.headers.get('x-cache')}` : undefined),
  },
  { label: '/healthz', path: '/healthz', check: (r) => (r.status !== 200 ? `HTTP ${r.status}` : undefined) },
]

/** `count` requests, `CONCURRENCY` in flight; returns each one's latency (ms) and the wall time. */
async function load(server: Server, endpoint: Endpoint, headers: Record<string, string>, count: number): Promise<{ latencies: number[]; seconds: number }> {
  const url = `${server.url}${endpoint.path}`
  const latencies: number[] = []
  let issued = 0
  let failed = false
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    try {
      while (issued < count && !failed) {
        issued++
        const t0 = performance.now()
        const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
        await response.arrayBuffer()
        latencies.push(performance.now() - t0)
        const problem = endpoint.check(response)
        if (problem !== undefined) throw new Error(`${server.name} ${endpoint.label}: ${problem}`)
      }
    } catch (error) {
      failed = true // the other loops stop too
      throw error
    }
  }))
  return { latencies, seconds: (performance.now() - started) / 1000 }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const servers: Server[] = []
let openbao: OpenBao | undefined
let issuer: ClusterIssuer | undefined
try {
  ;[openbao, issuer] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'RS256' })])
  await seedDemo(openbao, { issuerUrl: issuer.issuer, audience: 'vault-edge' })
  const env = { BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl: issuer.issuer, openbaoAddr: openbao.address })) }
  const token = await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: ['vault-edge'] })
  const headers = { Authorization: `Bearer ${token}` }

  // One at a time: starting four runtimes at once on 2 cores runs into the ready timeouts.
  const named = (name: string, broker: { url: string; stop(): Promise<void> }): Server => ({ name, url: broker.url, stop: () => broker.stop() })
  servers.push(named('Node', await startProcessBroker('node', env)))
  servers.push(named('Deno', await startProcessBroker('deno', env)))
  servers.push(named('workerd (Miniflare)', await startBrokerInWorkerd(env)))
  servers.push(named('wrangler dev', await startProcessBroker('wrangler', env)))

  // Warm-up: the first read logs in to OpenBao and caches the Vault token and the secret (and
  // fetches the cluster's JWKS); then enough requests for each runtime's JIT and connections.
  for (const server of servers) {
    const first = await fetch(`${server.url}${SECRET_PATH}`, { headers })
    await first.arrayBuffer()
    if (first.status !== 200) throw new Error(`${server.name}: first read HTTP ${first.status}`)
    for (const endpoint of endpoints) await load(server, endpoint, headers, WARM_UP)
  }

  const results = new Map<string, { latencies: number[]; seconds: number }>()
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse()
    for (const server of order) {
      for (const endpoint of endpoints) {
        const { latencies, seconds } = await load(server, endpoint, headers, REQUESTS)
        const key = `${server.name}\u0000${endpoint.label}`
        const sum = results.get(key) ?? { latencies: [], seconds: 0 }
        sum.latencies.push(...latencies)
        sum.seconds += seconds
        results.set(key, sum)
        console.error(`round ${round + 1}: ${server.name}, ${endpoint.label}: ${(REQUESTS / seconds).toFixed(0)} req/s`)
      }
    }
  }

  console.log(`\n${ROUNDS} rounds × ${REQUESTS} requests per runtime and endpoint, ${CONCURRENCY} at a time, over loopback HTTP:\n`)
  console.log('| runtime | request | req/s | median | p95 | req/s vs Node |')
  console.log('|---|---|---|---|---|---|')
  for (const endpoint of endpoints) {
    const stats = (server: Server) => {
      const { latencies, seconds } = results.get(`${server.name}\u0000${endpoint.label}`)!
      const sorted = [...latencies].sort((a, b) => a - b)
      return { rps: latencies.length / seconds, median: percentile(sorted, 50), p95: percentile(sorted, 95) }
    }
    const node = stats(servers[0]!)
    for (const server of servers) {
      const s = stats(server)
      console.log(`| ${server.name} | ${endpoint.label} | ${s.rps.toFixed(0)} | ${s.median.toFixed(2)} ms | ${s.p95.toFixed(2)} ms | ${(s.rps / node.rps).toFixed(2)}× |`)
    }
  }
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()))
  await Promise.allSettled([openbao?.stop(), issuer?.stop()])
}

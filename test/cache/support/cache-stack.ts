// What the cache tests share: a private Redis behind its own Upstash shim (so a scan sees only
// this file's data, and Redis can be stopped, paused and brought back on the same port), Vault
// policies and roles per ServiceAccount, a broker config, and pod tokens.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis as IORedis } from 'ioredis'
import { hasExited, killOnExit, killProcessGroup } from '../../support/child-process.ts'
import { mintToken } from '../../support/mint.ts'
import { findBaoBinary } from '../../support/openbao.ts'
import { pingRedis, startPrivateRedis, type PrivateRedis } from '../../support/redis.ts'
import { configureJwtAuth, putKv2, writeJwtRole, writePolicy, type OpenBaoTarget } from '../../support/seed-openbao.ts'
import { startUpstashShim, type UpstashShim } from '../../support/upstash-shim.ts'

export const AUDIENCE = 'vault-edge'

/** 32 random bytes as `openssl rand -base64 32` prints them. */
export const newEncryptionKey = () => randomBytes(32).toString('base64')

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface CacheRedis {
  shim: UpstashShim
  /** Direct access to the private Redis, for scans. */
  client: IORedis
  port: number
  /** SIGSTOP / SIGCONT: Redis accepts connections and never answers. */
  pause(): void
  resume(): void
  /** Kills redis-server; `start()` brings a new, empty one up on the same port. */
  kill(): Promise<void>
  start(): Promise<void>
  /**
   * Every key with its value and TTL. The broker stores strings (sealed values) and sets (the
   * lease index: names of other entries), whose value here is its members, one per line.
   */
  entries(): Promise<{ key: string; type: 'string' | 'set'; value: string; ttlSeconds: number }[]>
  stop(): Promise<void>
}

export async function startCacheRedis(): Promise<CacheRedis> {
  const first = await startPrivateRedis()
  let current: PrivateRedis | { stop(): Promise<void>; pause(): void; resume(): void } = first
  const shim = await startUpstashShim({ redisUrl: first.url, token: randomBytes(16).toString('base64url') })
  const client = new IORedis(first.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 })
  client.on('error', () => {})
  return {
    shim,
    client,
    port: first.port,
    pause: () => current.pause(),
    resume: () => current.resume(),
    kill: () => current.stop(),
    async start() {
      current = await startRedisOnPort(first.port)
    },
    async entries() {
      const keys = await client.keys('*')
      return Promise.all(
        keys.map(async (key) => {
          const type = (await client.type(key)) === 'set' ? 'set' : 'string'
          const value = type === 'set' ? (await client.smembers(key)).join('\n') : ((await client.get(key)) ?? '')
          return { key, type, value, ttlSeconds: await client.ttl(key) }
        }),
      )
    },
    async stop() {
      client.disconnect()
      await shim.stop()
      await current.stop()
    },
  }
}

/** A redis-server on a given port (the one a killed Redis had), so the shim reconnects to it. */
async function startRedisOnPort(port: number): Promise<{ stop(): Promise<void>; pause(): void; resume(): void }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
    detached: true,
  })
  const unregister = killOnExit(child)
  const deadline = Date.now() + 10_000
  while (!(await pingRedis(port))) {
    if (hasExited(child) || Date.now() > deadline) throw new Error(`redis-server did not come back on port ${port}`)
    await sleep(25)
  }
  return {
    pause: () => process.kill(-child.pid!, 'SIGSTOP'),
    resume: () => process.kill(-child.pid!, 'SIGCONT'),
    stop: async () => {
      unregister()
      await killProcessGroup(child)
    },
  }
}

/**
 * A fresh OpenBao dev server on a given port (the one a stopped server had): Vault restarted,
 * with its storage and every token gone. Returns its stop function.
 */
export async function startOpenBaoOnPort(port: number, rootToken: string): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-edge-cache-openbao-'))
  const child = spawn(
    findBaoBinary()!,
    ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token', '-log-level=warn'],
    { env: { HOME: dir, PATH: process.env.PATH ?? '' }, stdio: 'ignore', detached: true },
  )
  const unregister = killOnExit(child)
  const deadline = Date.now() + 20_000
  for (;;) {
    const healthy = await fetch(`http://127.0.0.1:${port}/v1/sys/health`).then((r) => r.status === 200, () => false)
    if (healthy) break
    if (hasExited(child) || Date.now() > deadline) throw new Error(`OpenBao did not come back on port ${port}`)
    await sleep(50)
  }
  return async () => {
    unregister()
    await killProcessGroup(child)
    await rm(dir, { recursive: true, force: true })
  }
}

/** The Vault role the broker config below gives a ServiceAccount: `{namespace}-{serviceAccount}`. */
export const roleOf = (namespace: string, serviceAccount: string) => `${namespace}-${serviceAccount}`

/** A policy reading `paths` (Vault policy globs) and a jwt role for exactly this ServiceAccount. */
export async function grantServiceAccount(
  target: OpenBaoTarget,
  options: { namespace: string; serviceAccount: string; paths: string[]; ttl?: string },
): Promise<void> {
  const role = roleOf(options.namespace, options.serviceAccount)
  await writePolicy(target, role, options.paths.map((path) => `path "${path}" {\n  capabilities = ["read"]\n}\n`).join(''))
  await writeJwtRole(target, { name: role, audience: AUDIENCE, namespace: options.namespace, serviceAccount: options.serviceAccount, policies: [role], ttl: options.ttl })
}

export { configureJwtAuth, putKv2 }

export function cacheBrokerConfig(options: {
  issuerUrl: string
  openbaoAddr: string
  /** The Kubernetes namespace whose ServiceAccounts may read `secret/data/<namespace>/*`. */
  namespace: string
  cache?: { kvTtlSeconds?: number; maxStaleSeconds?: number }
  vaultTimeoutMs?: number
  /** Rules before the namespace-wide one (first match wins). */
  rules?: Record<string, unknown>[]
}) {
  return {
    clusters: [{ name: 'local', issuer: options.issuerUrl, audiences: [AUDIENCE] }],
    vault: { address: options.openbaoAddr, authMount: 'jwt', timeoutMs: options.vaultTimeoutMs ?? 5000 },
    rules: [
      ...(options.rules ?? []),
      // Every ServiceAccount of the namespace may ask for any path under it: Vault decides.
      { cluster: 'local', namespace: options.namespace, role: '{namespace}-{serviceAccount}', paths: [`secret/data/${options.namespace}/*`] },
    ],
    cache: { kvTtlSeconds: 60, maxStaleSeconds: 3600, ...options.cache },
  }
}

export const podToken = (issuerUrl: string, namespace: string, serviceAccount: string, pod?: string) =>
  mintToken(issuerUrl, { namespace, serviceAccount, audiences: [AUDIENCE], pod, expirationSeconds: 3600 })

export interface Answer {
  status: number
  headers: Headers
  body: string
  ms: number
}

export async function getSecret(baseUrl: string, path: string, token: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(`${baseUrl}/v1/secrets/${path}`, { headers: { ...headers, Authorization: `Bearer ${token}` } })
  const body = await response.text()
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started }
}

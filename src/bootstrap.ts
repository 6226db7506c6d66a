// From raw bindings (whatever the runtime calls its environment) to a ready app: config
// validated, cache store chosen (SPEC §5), crypto keys derived. Shared by every adapter.
import type { Hono } from 'hono'
import type { AppDeps, AppEnv, Services } from './app-env.ts'
import { createApp, createServices } from './app.ts'
import { createMemoryStore } from './cache/memory-store.ts'
import { createSealer, type SymmetricCryptoFactory } from './cache/seal.ts'
import { createSecureCache } from './cache/secure-cache.ts'
import { createUpstashStore } from './cache/upstash-store.ts'
import { loadBindings, type RawBindings } from './config.ts'
import type { Logger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { createTransport, type RuntimeTransport } from './transport/create-transport.ts'
import { loadTransportSettings } from './transport/transport-settings.ts'

export interface Runtime {
  fetch: typeof fetch
  log: Logger
  now?: () => number
  /** Serve /metrics (Node and Deno). */
  metrics?: boolean
  /** The client's address of a request (abuse limits, audit lines). */
  clientAddress?: AppDeps['clientAddress']
  /** Worker bindings or TLS files for Vault and the issuers (src/transport/, docs/production.md). */
  transport?: RuntimeTransport
  /** The cache's HMAC and AES-GCM; WebCrypto unless the runtime has something cheaper (src/adapters/node-symmetric-crypto.ts). */
  symmetricCrypto?: SymmetricCryptoFactory
  tokenDigest?: AppDeps['tokenDigest']
  verifySignature?: AppDeps['verifySignature']
}

export interface Broker {
  app: Hono<AppEnv>
  services: Services
}

/** Throws ConfigError (every bad field named, no values) when the bindings are invalid. */
export async function createBroker(env: RawBindings, runtime: Runtime): Promise<Broker> {
  const bindings = loadBindings(env)
  const transport = createTransport(loadTransportSettings(bindings.config, env), runtime.transport ?? {}, runtime.fetch, runtime.log)
  const now = runtime.now ?? Date.now
  const store = bindings.upstash ? createUpstashStore(bindings.upstash) : createMemoryStore(now)
  const sealer = await createSealer(bindings.cacheEncryptionKey, runtime.symmetricCrypto)
  const cache = createSecureCache(store, sealer, { log: (message) => runtime.log.log('warn', message), now })
  const services = createServices({
    config: bindings.config, fetch: runtime.fetch, vaultFetch: transport.vault, clusterFetch: transport.cluster, cache, now, log: runtime.log,
    metrics: runtime.metrics ? createMetrics() : undefined,
    clientAddress: runtime.clientAddress, upstash: bindings.upstash, auditSinkHeader: bindings.auditSinkHeader, tokenDigest: runtime.tokenDigest, verifySignature: runtime.verifySignature,
  })
  return { app: createApp(services), services }
}

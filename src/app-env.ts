// The Hono environment shared by the app and its routes.
import type { Config } from './config.ts'
import type { SecureCache } from './cache/secure-cache.ts'
import type { Identity } from './identity/identity.ts'
import type { ClusterKeys } from './identity/cluster-keys.ts'
import type { VerifiedTokenMemo } from './identity/verified-token-memo.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import type { SecretBroker } from './secret-broker.ts'
import type { LeaseRegistry } from './vault/lease-registry.ts'
import type { TokenSource } from './vault/token-source.ts'
import type { VaultClient } from './vault/vault-client.ts'

/** Everything with I/O or time, injected (STYLE: seams for tests). */
export interface AppDeps {
  config: Config
  fetch: typeof fetch
  cache: SecureCache
  now: () => number
  log: Logger
  /** Prometheus counters; Node and Deno serve them at /metrics (per-isolate counts on Workers would mislead). */
  metrics?: Metrics
}

/** What createApp builds once from AppDeps and hands to every route. */
export interface Services extends AppDeps {
  vault: VaultClient
  clusterKeys: ClusterKeys
  /** Tokens that verified, by their SHA-256, until they end or their key leaves the JWKS. */
  verifiedTokens: VerifiedTokenMemo
  broker: SecretBroker
  /** Pod Vault tokens, shared by reads and issuing POSTs (src/vault/token-source.ts). */
  tokens: TokenSource
  /** Leases served recently, for the renewal job (src/vault/lease-registry.ts). */
  leases: LeaseRegistry
}

export interface AppEnv {
  Variables: {
    requestId: string
    services: Services
    identity: Identity
    /** The caller's verified ServiceAccount token, for the Vault login made on its behalf. */
    serviceAccountToken: string
  }
}

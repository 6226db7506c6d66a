// The Hono environment shared by the app and its routes.
import type { Context } from 'hono'
import type { AuditRecord } from './audit/audit-record.ts'
import type { AuditSink } from './audit/audit-sink.ts'
import type { Config } from './config.ts'
import type { SecureCache } from './cache/secure-cache.ts'
import type { Identity } from './identity/identity.ts'
import type { ClusterKeys } from './identity/cluster-keys.ts'
import type { SignatureVerifier } from './identity/signature-verifier.ts'
import type { VerifiedTokenMemo } from './identity/verified-token-memo.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import type { AbuseLimits } from './rate-limit/abuse-limits.ts'
import type { SecretBroker } from './secret-broker.ts'
import type { LeaseRegistry } from './vault/lease-registry.ts'
import type { TokenSource } from './vault/token-source.ts'
import type { VaultClient } from './vault/vault-client.ts'
import type { Format } from './render/index.ts'
import type { ReadQuery } from './routes/query-of.ts'

/** Everything with I/O or time, injected (STYLE: seams for tests). */
export interface AppDeps {
  config: Config
  fetch: typeof fetch
  /** Every Vault request goes through this one (a Worker binding, TLS files, Access headers); default `fetch`. */
  vaultFetch?: typeof fetch
  /** Discovery and JWKS requests of one cluster (by name); default `fetch`. */
  clusterFetch?: (cluster: string) => typeof fetch
  cache: SecureCache
  now: () => number
  log: Logger
  /** Prometheus counters; Node and Deno serve them at /metrics (per-isolate counts on Workers would mislead). */
  metrics?: Metrics
  /** The client's address (CF-Connecting-IP on Workers, the socket's on Node and Deno), from the adapter. */
  clientAddress?: (c: Context<AppEnv>) => string | undefined
  /** Redis for the abuse limits (the cache's); in memory without it. */
  upstash?: { url: string; token: string }
  /** AUDIT_SINK_HEADER_VALUE: the audit sink's credential. */
  auditSinkHeader?: string
  /** Hex SHA-256 of a token for the verified-token memo; @noble/hashes unless the runtime has a faster one. */
  tokenDigest?: (token: string) => string
  /** A JWS signature check cheaper than jose's crypto.subtle one (src/identity/signature-verifier.ts). */
  verifySignature?: SignatureVerifier
}

/** What createApp builds once from AppDeps and hands to every route. */
export interface Services extends AppDeps {
  vaultFetch: typeof fetch
  vault: VaultClient
  clusterKeys: ClusterKeys
  /** Tokens that verified, by their SHA-256, until they end or their key leaves the JWKS. */
  verifiedTokens: VerifiedTokenMemo
  broker: SecretBroker
  /** Pod Vault tokens, shared by reads and issuing POSTs (src/vault/token-source.ts). */
  tokens: TokenSource
  /** Leases served recently, for the renewal job (src/vault/lease-registry.ts). */
  leases: LeaseRegistry
  /** BROKER_CONFIG.audit.sink, when set (src/audit/audit-sink.ts). */
  auditSink?: AuditSink
  /** Failed authentications per address, reads per identity (src/rate-limit/). */
  limits: AbuseLimits
}

export interface AppEnv {
  Variables: {
    requestId: string
    services: Services
    identity: Identity
    /** The caller's verified ServiceAccount token, for the Vault login made on its behalf. */
    serviceAccountToken: string
    /** What the routes note for this request's audit line (src/audit/audit-record.ts). */
    audit: AuditRecord
    /** The query parameters, parsed once (src/routes/query-of.ts). */
    query: ReadQuery
    /** The format negotiated for the answer, once (src/routes/format-of.ts). */
    format: Format
  }
}

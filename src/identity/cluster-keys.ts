// Per-cluster JWKS resolution. jose's remote JWKS already has the cooldown and the reload on
// an unknown `kid` (STYLE: don't wrap it in our own cache); this file only picks the source:
// inline JWKS, explicit jwksUri, or OIDC discovery from the issuer.
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose'
import type { ClusterConfig } from '../config.ts'

export const JWKS_COOLDOWN_MS = 30_000
export const JWKS_MAX_AGE_MS = 10 * 60_000
const DISCOVERY_TIMEOUT_MS = 5000

export type FetchLike = typeof fetch

export type ClusterKeys = (cluster: ClusterConfig) => JWTVerifyGetKey

/** OpenID Connect Discovery 1.0 §4: the issuer's metadata names its jwks_uri. */
async function discoverJwksUri(cluster: ClusterConfig, fetchImpl: FetchLike): Promise<URL> {
  const url = `${cluster.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: 'manual' })
  if (response.status !== 200) throw new Error(`OIDC discovery for cluster ${cluster.name} answered ${response.status}`)
  const metadata = (await response.json()) as { jwks_uri?: unknown }
  if (typeof metadata.jwks_uri !== 'string') throw new Error(`OIDC discovery for cluster ${cluster.name} has no jwks_uri`)
  return new URL(metadata.jwks_uri)
}

export function createClusterKeys(fetchImpl: FetchLike): ClusterKeys {
  const byCluster = new Map<string, JWTVerifyGetKey>()

  const build = (cluster: ClusterConfig): JWTVerifyGetKey => {
    if (cluster.jwks) return createLocalJWKSet(cluster.jwks as Parameters<typeof createLocalJWKSet>[0])
    const remote = (uri: URL) =>
      createRemoteJWKSet(uri, {
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        [customFetch]: fetchImpl,
      })
    if (cluster.jwksUri) return remote(new URL(cluster.jwksUri))
    let discovered: Promise<JWTVerifyGetKey> | undefined
    return async (header, token) => {
      discovered ??= discoverJwksUri(cluster, fetchImpl)
        .then(remote)
        .catch((error: unknown) => {
          discovered = undefined // a failed discovery is retried by the next request
          throw error
        })
      return (await discovered)(header, token)
    }
  }

  return (cluster) => {
    let keys = byCluster.get(cluster.name)
    if (!keys) {
      keys = build(cluster)
      byCluster.set(cluster.name, keys)
    }
    return keys
  }
}

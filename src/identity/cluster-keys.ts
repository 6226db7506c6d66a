// Per-cluster verification keys (SPEC §3): an inline JWKS from config, an explicit jwksUri, or
// the jwks_uri from the issuer's OIDC discovery document. This file picks the source and turns a
// token header into the keys that may have signed it; caching lives in cached-remote-jwks.ts.
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose'
import type { SecureCache } from '../cache/secure-cache.ts'
import type { ClusterConfig } from '../config.ts'
import type { Logger } from '../logger.ts'
import { createCachedRemoteJwks, type KeyLookup } from './cached-remote-jwks.ts'
import type { ProtectedHeader } from './check-protected-header.ts'
import { createJwksUriDiscovery } from './jwks-uri-discovery.ts'
import type { CompactJws } from './parse-compact-jws.ts'

export { JWKS_COOLDOWN_MS, JWKS_MAX_AGE_MS, JWKS_STALE_IF_ERROR_MS } from './cached-remote-jwks.ts'

/**
 * A token without a kid is tried against every key of its alg's type. Real JWKS hold one to a
 * few keys; the bound keeps a forged kid-less token from costing more than that.
 */
export const MAX_CANDIDATE_KEYS = 16

export type FetchLike = typeof fetch

export interface ClusterKeySet {
  /**
   * The keys that may have signed a token with this header: none when no key fits its kid and
   * alg, one when the kid names it, several when there is no kid to choose by.
   * Throws when the cluster's keys cannot be had at all (endpoint down, nothing cached).
   */
  candidateKeys(header: ProtectedHeader, jws: CompactJws): Promise<CryptoKey[]>
}

export type ClusterKeys = (cluster: ClusterConfig) => ClusterKeySet

export interface ClusterKeysOptions {
  log?: Logger
  /** A cluster's own fetch (a Worker binding, a private CA: src/transport/); default `defaultFetch`. */
  fetchFor?: (cluster: string) => FetchLike
}

export function createClusterKeys(defaultFetch: FetchLike, cache: SecureCache, options: ClusterKeysOptions = {}): ClusterKeys {
  const byCluster = new Map<string, ClusterKeySet>()

  const lookupFor = (cluster: ClusterConfig): KeyLookup => {
    const fetchImpl = options.fetchFor?.(cluster.name) ?? defaultFetch
    // One line per failed attempt (the cooldown bounds them), so an operator sees the outage
    // while cached keys hide it from pods.
    const onFailure = (source: string) => (reason: string, url: string) =>
      options.log?.log('warn', `${source} failed; keys cached in the last 24 h keep verifying`, { cluster: cluster.name, url, reason })
    if (cluster.jwks) return createLocalJWKSet(cluster.jwks as unknown as JSONWebKeySet)
    const remote = (url: URL) => createCachedRemoteJwks({ url, fetch: fetchImpl, cache, onFailure: onFailure('JWKS fetch') })
    if (cluster.jwksUri) return remote(new URL(cluster.jwksUri))

    const discover = createJwksUriDiscovery({ issuer: cluster.issuer, fetch: fetchImpl, cache, onFailure: onFailure('OIDC discovery') })
    // Keys follow the discovery document: should its jwks_uri change, the old set is dropped.
    let current: { href: string; lookup: KeyLookup } | undefined
    return async (header, token) => {
      const url = await discover()
      if (current?.href !== url.href) current = { href: url.href, lookup: remote(url) }
      return current.lookup(header, token)
    }
  }

  const keySetFor = (cluster: ClusterConfig): ClusterKeySet => {
    const lookup = lookupFor(cluster)
    return {
      async candidateKeys(header, jws) {
        // jose's JWKS matches `kid` exactly when the header has one, so `kid: ""` (old clusters)
        // would only match a key whose kid is "". checkProtectedHeader has already turned "" into
        // undefined: the lookup then considers every key of the alg's type.
        const lookupHeader: JWSHeaderParameters = header.kid === undefined ? { alg: header.alg } : { alg: header.alg, kid: header.kid }
        const token = { protected: jws.encodedHeader, payload: jws.encodedPayload, signature: jws.signature }
        try {
          return [await lookup(lookupHeader, token)]
        } catch (error) {
          if (error instanceof joseErrors.JWKSNoMatchingKey) return []
          // jwtVerify does not try several keys itself; the error carries them for us to try.
          if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
            const keys: CryptoKey[] = []
            for await (const key of error) {
              keys.push(key)
              if (keys.length >= MAX_CANDIDATE_KEYS) break
            }
            return keys
          }
          throw error
        }
      },
    }
  }

  return (cluster) => {
    let keys = byCluster.get(cluster.name)
    if (!keys) {
      keys = keySetFor(cluster)
      byCluster.set(cluster.name, keys)
    }
    return keys
  }
}

// Which cluster may have issued a token, decided from its (still unverified) `iss` before any key
// is tried, so a token can only ever be checked against the keys of the cluster it names.
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import { isLegacyToken } from './legacy-token.ts'
import type { JsonObject } from './parse-compact-jws.ts'

export type TokenKind = 'projected' | 'legacy'

export interface ClusterSelection {
  kind: TokenKind
  /** In the order they are tried: exactly one for a projected token. */
  clusters: ClusterConfig[]
}

export function selectClusters(payload: JsonObject, clusters: readonly ClusterConfig[]): ClusterSelection {
  if (typeof payload.iss !== 'string') throw invalidToken('no iss claim (or not a string)')
  if (isLegacyToken(payload)) {
    // Every legacy token has the same iss, so the iss cannot pick the cluster. Only clusters that
    // opt in are candidates, tried in config order; the one whose JWKS verifies the signature
    // issued it (their signing keys differ, so at most one can).
    const optedIn = clusters.filter((cluster) => cluster.allowLegacyTokens)
    if (optedIn.length === 0) throw invalidToken('legacy secret-based token, and no cluster sets allowLegacyTokens')
    return { kind: 'legacy', clusters: optedIn }
  }
  // The config schema keeps issuers unique: at most one match.
  const cluster = clusters.find((candidate) => candidate.issuer === payload.iss)
  if (!cluster) throw invalidToken('iss is not a configured cluster issuer')
  return { kind: 'projected', clusters: [cluster] }
}

// SPEC §3: a token is accepted only if every check holds, in this order — cheapest and least
// trusting first, and no key is fetched or tried before the issuer has chosen the cluster:
//   1. shape: size, three canonical base64url segments, JSON objects without duplicate names;
//   2. header: only alg/kid/typ, never none or HMAC;
//   3. cluster: by `iss` (legacy tokens: the clusters that opt in);
//   4. alg in that cluster's allow-list, then the signature with that cluster's keys;
//   5. claims: iss, aud, exp, nbf, iat, age, warnafter, sub ⇔ kubernetes.io.
// Each failure is the same generic 401 on the wire; the log gets which check failed, never the token.
import { errors as joseErrors, jwtVerify, UnsecuredJWT, type JWTVerifyOptions } from 'jose'
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import { checkProtectedHeader, isAlgorithmAllowed, type ProtectedHeader } from './check-protected-header.ts'
import type { ClusterKeys } from './cluster-keys.ts'
import type { Identity } from './identity.ts'
import { parseCompactJws, type CompactJws, type JsonObject } from './parse-compact-jws.ts'
import { selectClusters, type TokenKind } from './select-clusters.ts'
import type { SignatureVerifier } from './signature-verifier.ts'
import { identityFromLegacyClaims, identityFromProjectedClaims } from './service-account-claims.ts'
import { checkWarnAfter, claimOptions, describeJoseFailure } from './token-claim-checks.ts'

export { MAX_TOKEN_BYTES } from './parse-compact-jws.ts'

export interface VerifyDeps {
  clusters: readonly ClusterConfig[]
  keys: ClusterKeys
  /** Milliseconds since the epoch. */
  now: () => number
  /** The runtime's cheaper signature check (signature-verifier.ts); jose's alone without it. */
  verifySignature?: SignatureVerifier
}

/** jose reports these only after the signature has verified: the key was right, the claims are not. */
const isClaimFailure = (error: unknown) =>
  error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired || error instanceof joseErrors.JWTInvalid

interface Attempt {
  jws: CompactJws
  header: ProtectedHeader
  cluster: ClusterConfig
  kind: TokenKind
  nowMs: number
}

/** `{"alg":"none"}`: jose's UnsecuredJWT checks a claims set exactly as jwtVerify does (its validateClaimsSet). */
const UNSIGNED_HEADER = 'eyJhbGciOiJub25lIn0'

/** jwtVerify's claim checks on a token whose signature the runtime has already verified. */
const checkedClaims = (jws: CompactJws, options: JWTVerifyOptions): JsonObject =>
  UnsecuredJWT.decode(`${UNSIGNED_HEADER}.${jws.encodedPayload}.`, options).payload as JsonObject

/**
 * The verified claims if one of the cluster's keys signed the token; undefined (with the reason
 * pushed to `misses`) if none did. Throws once a key has verified and a claim fails.
 */
async function verifyWithClusterKeys(attempt: Attempt, keys: ClusterKeys, misses: string[], verifySignature?: SignatureVerifier): Promise<{ payload: JsonObject; key: CryptoKey } | undefined> {
  const { jws, header, cluster, kind, nowMs } = attempt
  if (!isAlgorithmAllowed(header.alg, cluster)) {
    misses.push(`alg not in the allow-list of cluster ${cluster.name}`)
    return undefined
  }
  let candidates: CryptoKey[]
  try {
    candidates = await keys(cluster).candidateKeys(header, jws)
  } catch (error) {
    misses.push(`keys of cluster ${cluster.name} unavailable (${error instanceof Error ? error.name : 'error'})`)
    return undefined
  }
  if (candidates.length === 0) {
    misses.push(`no key in the JWKS of cluster ${cluster.name} matches the header kid and alg`)
    return undefined
  }
  const options = claimOptions(cluster, kind, header.alg, nowMs)
  for (const key of candidates) {
    const signed = await verifySignature?.(header.alg, key, jws)
    if (signed === false) continue
    try {
      if (signed === true) return { payload: checkedClaims(jws, options), key }
      const { payload } = await jwtVerify(jws.token, key, options)
      return { payload: payload as JsonObject, key }
    } catch (error) {
      if (isClaimFailure(error)) throw invalidToken(`${describeJoseFailure(error)} (cluster ${cluster.name})`, error)
      // Signature failure, or a key of the right type for another alg: try the next candidate.
    }
  }
  misses.push(`signature does not verify with any matching key of cluster ${cluster.name}`)
  return undefined
}

/** What a verification established: for verified-token-memo.ts, which remembers it. */
export interface VerifiedToken {
  identity: Identity
  cluster: ClusterConfig
  header: ProtectedHeader
  /** The cluster key that verified the signature (as the cluster's key set returned it). */
  key: CryptoKey
  payload: JsonObject
  kind: TokenKind
}

export async function verifyServiceAccountToken(token: string, deps: VerifyDeps): Promise<Identity> {
  return (await verifyServiceAccountTokenInDetail(token, deps)).identity
}

export async function verifyServiceAccountTokenInDetail(token: string, deps: VerifyDeps): Promise<VerifiedToken> {
  const jws = parseCompactJws(token)
  const header = checkProtectedHeader(jws.header)
  const { kind, clusters } = selectClusters(jws.payload, deps.clusters)
  const nowMs = deps.now()

  const misses: string[] = kind === 'legacy' ? ['legacy token'] : []
  // One cluster for a projected token; for a legacy one, each opted-in cluster until a key verifies.
  for (const cluster of clusters) {
    const verified = await verifyWithClusterKeys({ jws, header, cluster, kind, nowMs }, deps.keys, misses, deps.verifySignature)
    if (verified === undefined) continue
    const { payload, key } = verified
    if (kind === 'legacy') return { identity: identityFromLegacyClaims(cluster, payload), cluster, header, key, payload, kind }
    checkWarnAfter(cluster, payload, nowMs)
    return { identity: identityFromProjectedClaims(cluster, payload), cluster, header, key, payload, kind }
  }
  throw invalidToken(misses.join('; '))
}

// SPEC §3 claim checks. jose does iss, aud, exp, nbf, iat-in-the-future and the maximum age with
// one bounded leeway (config clockLeewaySeconds ≤ 60); this file adds what is Kubernetes-specific
// and turns jose's failures into log reasons (the wire always gets the same generic 401).
import { errors as joseErrors, type JWTVerifyOptions } from 'jose'
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import { LEGACY_ISSUER } from './legacy-token.ts'
import type { JsonObject } from './parse-compact-jws.ts'
import type { TokenKind } from './select-clusters.ts'

export function claimOptions(cluster: ClusterConfig, kind: TokenKind, alg: string, nowMs: number): JWTVerifyOptions {
  const common = {
    // Only the alg the header policy already admitted for this cluster.
    algorithms: [alg],
    clockTolerance: cluster.clockLeewaySeconds,
    currentDate: new Date(nowMs),
  }
  if (kind === 'legacy') {
    // Legacy tokens have no aud, exp or iat: there is nothing to bound their age with. That is
    // the risk a cluster accepts with allowLegacyTokens (see docs/identity.md).
    return { ...common, issuer: LEGACY_ISSUER, requiredClaims: ['sub'] }
  }
  return {
    ...common,
    issuer: cluster.issuer,
    audience: cluster.audiences,
    requiredClaims: ['exp', 'iat', 'sub', 'aud'],
    // Also makes jose refuse an iat in the future (beyond the leeway).
    maxTokenAge: cluster.maxTokenAgeSeconds,
  }
}

/**
 * kube-apiserver stretches the kubelet's auto-mounted token (3607 s requested) to a year so old
 * clients keep working, and records the real expiry in `kubernetes.io.warnafter`. The kubelet
 * refreshes the file long before that, so a token past its warnafter is one that leaked or a
 * client that never rereads it: both are refused.
 */
export function checkWarnAfter(cluster: ClusterConfig, payload: JsonObject, nowMs: number): void {
  const claims = payload['kubernetes.io']
  if (typeof claims !== 'object' || claims === null) return
  const warnAfter = (claims as JsonObject).warnafter
  if (warnAfter === undefined) return
  if (typeof warnAfter !== 'number' || !Number.isFinite(warnAfter)) throw invalidToken('kubernetes.io warnafter is not a number')
  if (Math.floor(nowMs / 1000) - cluster.clockLeewaySeconds > warnAfter) throw invalidToken('token is past its kubernetes.io warnafter (the real expiry of a year-long auto-mounted token)')
}

const CLAIM_FAILURES: Record<string, string> = {
  'iss check_failed': 'iss is not the cluster issuer',
  'aud check_failed': 'aud holds none of the cluster audiences',
  'nbf check_failed': 'nbf is in the future (beyond the leeway)',
  'iat check_failed': 'iat is in the future (beyond the leeway)',
}

/** Which check failed, for the log: fixed texts only, nothing taken from the token. */
export function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    return error.claim === 'iat' ? 'token older than maxTokenAgeSeconds (iat)' : 'token expired (exp beyond the leeway)'
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const known = CLAIM_FAILURES[`${error.claim} ${error.reason}`]
    if (known) return known
    if (error.reason === 'missing') return `${error.claim} claim missing`
    if (error.reason === 'invalid') return `${error.claim} claim is not a number`
    return `${error.claim} claim check failed`
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg not allowed for this cluster'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify'
  if (error instanceof joseErrors.JOSEError) return `token rejected by jose (${error.code})`
  return 'token verification failed'
}

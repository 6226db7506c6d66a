// SPEC §3: a token is accepted only if every check holds. Each failure is the same generic 401
// on the wire; the log gets which check failed (never the token).
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import type { ClusterKeys } from './cluster-keys.ts'
import type { Identity } from './identity.ts'

// Projected tokens are ~1 KB; 16 KiB leaves room for long names and still bounds the work.
export const MAX_TOKEN_BYTES = 16 * 1024
const SERVICE_ACCOUNT_SUBJECT = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/

interface KubernetesClaims {
  namespace?: unknown
  serviceaccount?: { name?: unknown; uid?: unknown }
  pod?: { name?: unknown; uid?: unknown }
  warnafter?: unknown
}

export interface VerifyDeps {
  clusters: ClusterConfig[]
  keys: ClusterKeys
  /** Milliseconds since the epoch. */
  now: () => number
}

const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

function peekIssuer(token: string): string {
  if (token.length > MAX_TOKEN_BYTES) throw invalidToken('token larger than MAX_TOKEN_BYTES')
  if (token.split('.').length !== 3) throw invalidToken('not a compact JWS (expected three segments)')
  try {
    decodeProtectedHeader(token)
    const issuer = decodeJwt(token).iss
    if (typeof issuer !== 'string') throw invalidToken('no iss claim')
    return issuer
  } catch (error) {
    if (error instanceof Error && error.name === 'AppError') throw error
    throw invalidToken('header or payload is not base64url JSON')
  }
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} failed: ${error.reason}`
  if (error instanceof joseErrors.JWTExpired) return 'token expired'
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg not allowed for this cluster'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify'
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key in the cluster JWKS matches the token'
  if (error instanceof joseErrors.JOSEError) return `token rejected (${error.code})`
  return 'cluster keys unavailable'
}

function identityFromClaims(cluster: ClusterConfig, payload: JWTPayload): Identity {
  const subject = SERVICE_ACCOUNT_SUBJECT.exec(payload.sub ?? '')
  if (!subject) throw invalidToken('sub is not system:serviceaccount:<namespace>:<name>')
  const namespace = subject[1]!
  const serviceAccount = subject[3]!
  const claims = payload['kubernetes.io'] as KubernetesClaims | undefined
  if (typeof claims !== 'object' || claims === null) throw invalidToken('no kubernetes.io claims')
  if (claims.namespace !== namespace || claims.serviceaccount?.name !== serviceAccount) {
    throw invalidToken('sub disagrees with the kubernetes.io claims')
  }
  return {
    cluster: cluster.name,
    namespace,
    serviceAccount,
    serviceAccountUid: asString(claims.serviceaccount?.uid),
    pod: asString(claims.pod?.name),
    podUid: asString(claims.pod?.uid),
  }
}

export async function verifyServiceAccountToken(token: string, deps: VerifyDeps): Promise<Identity> {
  const issuer = peekIssuer(token)
  const cluster = deps.clusters.find((candidate) => candidate.issuer === issuer)
  if (!cluster) throw invalidToken('iss is not a configured cluster issuer')

  const nowSeconds = Math.floor(deps.now() / 1000)
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, deps.keys(cluster), {
      issuer: cluster.issuer,
      audience: cluster.audiences,
      algorithms: cluster.algorithms,
      clockTolerance: cluster.clockLeewaySeconds,
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['exp', 'iat', 'sub', 'aud'],
    }))
  } catch (error) {
    throw invalidToken(describeJoseFailure(error), error)
  }

  const issuedAt = payload.iat!
  if (issuedAt - cluster.clockLeewaySeconds > nowSeconds) throw invalidToken('iat is in the future')
  if (nowSeconds - issuedAt > cluster.maxTokenAgeSeconds) throw invalidToken('token older than maxTokenAgeSeconds')
  const warnAfter = (payload['kubernetes.io'] as KubernetesClaims | undefined)?.warnafter
  // kube-apiserver stretches auto-mounted tokens to a year; warnafter is their real expiry.
  if (typeof warnAfter === 'number' && nowSeconds - cluster.clockLeewaySeconds > warnAfter) {
    throw invalidToken('token is past its kubernetes.io warnafter')
  }
  return identityFromClaims(cluster, payload)
}

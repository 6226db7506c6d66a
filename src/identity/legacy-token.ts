// Legacy secret-based ServiceAccount tokens (Kubernetes < 1.24 created one per ServiceAccount in
// a Secret; pkg/serviceaccount/legacy.go). They never expire, carry no audience and are revoked
// only by deleting their Secret, which the broker cannot see. So they are refused unless a
// cluster opts in with `allowLegacyTokens`.
import type { JsonObject } from './parse-compact-jws.ts'

/** The `iss` of every legacy token, from every cluster: it cannot tell clusters apart. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount'

const CLAIM_PREFIX = 'kubernetes.io/serviceaccount/'

/**
 * Legacy by its shape, not its `iss` alone: old clusters (e.g. minikube 1.12 with
 * --service-account-issuer=kubernetes/serviceaccount) also issue *projected* tokens with this
 * `iss`, and those carry the nested `kubernetes.io` claim, an `aud` and an `exp`.
 */
export const isLegacyToken = (payload: JsonObject): boolean =>
  payload.iss === LEGACY_ISSUER && payload['kubernetes.io'] === undefined

export interface LegacyClaims {
  namespace: unknown
  serviceAccountName: unknown
  serviceAccountUid: unknown
}

/** The flat claims a legacy token names its ServiceAccount with. */
export const legacyClaims = (payload: JsonObject): LegacyClaims => ({
  namespace: payload[`${CLAIM_PREFIX}namespace`],
  serviceAccountName: payload[`${CLAIM_PREFIX}service-account.name`],
  serviceAccountUid: payload[`${CLAIM_PREFIX}service-account.uid`],
})

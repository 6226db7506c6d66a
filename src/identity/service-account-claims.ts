// Verified claims → Identity. `sub` and the `kubernetes.io` claims (or a legacy token's flat
// claims) must name the same ServiceAccount: kube-apiserver always writes both from one object,
// so any disagreement is a forgery or a bug, never a real token.
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import type { Identity } from './identity.ts'
import { legacyClaims } from './legacy-token.ts'
import type { JsonObject } from './parse-compact-jws.ts'

// Kubernetes object names (apimachinery validation): namespaces are RFC 1123 labels, ServiceAccounts
// and pods RFC 1123 subdomains. ASCII only: a look-alike Unicode namespace is not a namespace.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_LABEL_LENGTH = 63
const MAX_SUBDOMAIN_LENGTH = 253
// Kubernetes uids are UUIDs; bound whatever a token says before it reaches logs and cache keys.
const MAX_UID_LENGTH = 128

const isNamespace = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(value)
const isObjectName = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_SUBDOMAIN_LENGTH && DNS_SUBDOMAIN.test(value)

function optionalUid(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '' || value.length > MAX_UID_LENGTH) throw invalidToken(`${what} uid is not a string uid`)
  return value
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `system:serviceaccount:<namespace>:<name>` (k8s.io/apiserver/pkg/authentication/serviceaccount). */
function parseSubject(sub: unknown): { namespace: string; serviceAccount: string } {
  if (typeof sub !== 'string') throw invalidToken('no sub claim (or not a string)')
  const parts = sub.split(':')
  if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount') {
    throw invalidToken('sub is not system:serviceaccount:<namespace>:<name>')
  }
  const [, , namespace, serviceAccount] = parts
  if (!isNamespace(namespace)) throw invalidToken('sub namespace is not a Kubernetes namespace name')
  if (!isObjectName(serviceAccount)) throw invalidToken('sub name is not a Kubernetes ServiceAccount name')
  return { namespace, serviceAccount }
}

/** A projected token (TokenRequest API): the nested `kubernetes.io` claim. */
export function identityFromProjectedClaims(cluster: ClusterConfig, payload: JsonObject): Identity {
  const { namespace, serviceAccount } = parseSubject(payload.sub)
  const claims = payload['kubernetes.io']
  if (!isObject(claims)) throw invalidToken('no kubernetes.io claim object')
  const account = claims.serviceaccount
  if (!isObject(account)) throw invalidToken('no kubernetes.io serviceaccount object')
  if (claims.namespace !== namespace) throw invalidToken('sub namespace disagrees with kubernetes.io namespace')
  if (account.name !== serviceAccount) throw invalidToken('sub name disagrees with kubernetes.io serviceaccount name')

  let pod: string | undefined
  let podUid: string | undefined
  // Absent for tokens not bound to a pod (`kubectl create token`, or bound to a Secret or Node).
  if (claims.pod !== undefined) {
    if (!isObject(claims.pod) || !isObjectName(claims.pod.name)) throw invalidToken('kubernetes.io pod is not a named object')
    pod = claims.pod.name
    podUid = optionalUid(claims.pod.uid, 'pod')
  }
  // Only recorded (audit trail), never decided on: a malformed one is left out, not refused.
  const node = isObject(claims.node) && isObjectName(claims.node.name) ? claims.node.name : undefined
  return {
    cluster: cluster.name,
    namespace,
    serviceAccount,
    serviceAccountUid: optionalUid(account.uid, 'serviceaccount'),
    pod,
    podUid,
    ...(node === undefined ? {} : { node }),
  }
}

/** A legacy secret-based token: flat `kubernetes.io/serviceaccount/*` claims, never a pod. */
export function identityFromLegacyClaims(cluster: ClusterConfig, payload: JsonObject): Identity {
  const { namespace, serviceAccount } = parseSubject(payload.sub)
  const claims = legacyClaims(payload)
  if (claims.namespace !== namespace) throw invalidToken('sub namespace disagrees with the legacy namespace claim')
  if (claims.serviceAccountName !== serviceAccount) throw invalidToken('sub name disagrees with the legacy service-account.name claim')
  return {
    cluster: cluster.name,
    namespace,
    serviceAccount,
    serviceAccountUid: optionalUid(claims.serviceAccountUid, 'serviceaccount'),
    pod: undefined,
    podUid: undefined,
  }
}

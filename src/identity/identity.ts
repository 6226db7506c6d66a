/**
 * Who is asking, as the cluster vouched for it (SPEC §3). Read-only: the scope and the rule of an
 * identity are remembered per object (identityScope, rules.ts), so one must never change.
 */
export interface Identity {
  readonly cluster: string
  readonly namespace: string
  readonly serviceAccount: string
  readonly serviceAccountUid: string | undefined
  readonly pod: string | undefined
  readonly podUid: string | undefined
  /** The pod's node (`kubernetes.io.node.name`, Kubernetes 1.30+), for the audit trail only. */
  readonly node?: string
}

/**
 * The stable part of an identity that cache entries are scoped to (pods of one SA share it).
 * Remembered per identity object: the verified-token memo hands the same one to every read with
 * that token, and the scope is asked on each (issue 9 profile: ~1 % of a cached read on Node).
 */
export function identityScope(identity: Identity): string {
  let scope = scopes.get(identity)
  if (scope === undefined) {
    scope = JSON.stringify([identity.cluster, identity.namespace, identity.serviceAccount, identity.serviceAccountUid ?? ''])
    scopes.set(identity, scope)
  }
  return scope
}

const scopes = new WeakMap<Identity, string>()

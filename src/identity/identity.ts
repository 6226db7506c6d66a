/** Who is asking, as the cluster vouched for it (SPEC §3). */
export interface Identity {
  cluster: string
  namespace: string
  serviceAccount: string
  serviceAccountUid: string | undefined
  pod: string | undefined
  podUid: string | undefined
  /** The pod's node (`kubernetes.io.node.name`, Kubernetes 1.30+), for the audit trail only. */
  node?: string
}

/** The stable part of an identity that cache entries are scoped to (pods of one SA share it). */
export const identityScope = (identity: Identity): string =>
  JSON.stringify([identity.cluster, identity.namespace, identity.serviceAccount, identity.serviceAccountUid ?? ''])

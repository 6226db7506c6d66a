// What the test/vault files share: the stack from globalSetup, an in-process broker built the
// way the adapters build it (createBroker), unique names so files running side by side on the
// shared OpenBao never meet, and JWT roles made for one test file.
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { createBroker, type Broker } from '../../../src/bootstrap.ts'
import { identityScope, type Identity } from '../../../src/identity/identity.ts'
import { createMemoryLogger } from '../../../src/logger.ts'
import { tokenPartsOf } from '../../../src/vault/token-source.ts'
import type { VaultLogin } from '../../../src/vault/vault-types.ts'
import { BROKER_AUDIENCE } from '../../support/broker-config.ts'
import { decodeJwt, mintToken } from '../../support/mint.ts'
import { createOpenBaoClient, type OpenBaoClient } from '../../support/openbao.ts'
import { writeJwtRole, writePolicy, type OpenBaoTarget } from '../../support/seed-openbao.ts'

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`

export function sharedStack() {
  const openbao: OpenBaoClient = createOpenBaoClient({
    address: inject('openbaoAddr'),
    rootToken: inject('openbaoRootToken'),
    auditLogPath: inject('openbaoAuditLog') || undefined,
  })
  return { openbao, issuerUrl: inject('issuerUrl'), issuerApiServerUrl: inject('issuerApiServerUrl') }
}

export const targetOf = (openbao: Pick<OpenBaoClient, 'address' | 'rootToken'>, namespace?: string): OpenBaoTarget => ({
  address: openbao.address,
  rootToken: openbao.rootToken,
  namespace,
})

/** A policy and a jwt role for one ServiceAccount of namespace `vault-tests`. */
export async function createJwtRole(
  target: OpenBaoTarget,
  options: { role: string; serviceAccount: string; policy: string; mount?: string; ttl?: string; namespace?: string; extra?: Record<string, unknown> },
): Promise<void> {
  await writePolicy(target, options.role, options.policy)
  await writeJwtRole(target, {
    name: options.role,
    mount: options.mount,
    audience: BROKER_AUDIENCE,
    namespace: options.namespace ?? 'vault-tests',
    serviceAccount: options.serviceAccount,
    policies: [options.role],
    ttl: options.ttl,
  })
  if (options.extra) {
    const response = await fetch(`${target.address}/v1/auth/${options.mount ?? 'jwt'}/role/${options.role}`, {
      method: 'POST',
      headers: { 'X-Vault-Token': target.rootToken, ...(target.namespace ? { 'X-Vault-Namespace': target.namespace } : {}) },
      body: JSON.stringify({ role_type: 'jwt', ...options.extra }),
    })
    if (!response.ok) throw new Error(`role update answered ${response.status}: ${await response.text()}`)
  }
}

export interface PodOptions {
  namespace?: string
  serviceAccount: string
  /** Unique per test: the audit log's token metadata (pod_name) tells its requests apart. */
  pod?: string
  issuerUrl?: string
}

export async function podToken(options: PodOptions): Promise<string> {
  return mintToken(options.issuerUrl ?? inject('issuerUrl'), {
    namespace: options.namespace ?? 'vault-tests',
    serviceAccount: options.serviceAccount,
    audiences: [BROKER_AUDIENCE],
    pod: options.pod ?? unique(options.serviceAccount),
    expirationSeconds: 3600,
  })
}

export interface TestBroker extends Broker {
  log: ReturnType<typeof createMemoryLogger>
  /** `app.request` with the pod's token. */
  call(path: string, token: string | undefined, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>
  /** The Vault token the broker holds for the pod of `jwt` (test-only peek into its cache). */
  vaultTokenOf(jwt: string, cluster: string, authMount: string, role: string): Promise<VaultLogin | undefined>
}

export async function startTestBroker(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<TestBroker> {
  const log = createMemoryLogger()
  const broker = await createBroker({ BROKER_CONFIG: JSON.stringify(config), ...env }, { fetch: globalThis.fetch, log })
  return {
    ...broker,
    log,
    call(path, token, init = {}) {
      const headers: Record<string, string> = { ...init.headers }
      if (token !== undefined) headers.Authorization = `Bearer ${token}`
      if (init.body !== undefined) headers['Content-Type'] = 'application/json'
      return Promise.resolve(
        broker.app.request(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) }),
      )
    },
    vaultTokenOf(jwt, cluster, authMount, role) {
      return broker.services.cache.get<VaultLogin>('vault-token', tokenPartsOf({ identity: identityOf(jwt, cluster), authMount, role }))
    },
  }
}

/** The identity the broker derives from a projected token (SPEC §3), for cache look-ups in tests. */
export function identityOf(jwt: string, cluster: string): Identity {
  const claims = decodeJwt(jwt).payload['kubernetes.io'] as {
    namespace: string
    serviceaccount: { name: string; uid: string }
    pod?: { name: string; uid: string }
  }
  return {
    cluster,
    namespace: claims.namespace,
    serviceAccount: claims.serviceaccount.name,
    serviceAccountUid: claims.serviceaccount.uid,
    pod: claims.pod?.name,
    podUid: claims.pod?.uid,
  }
}

export const scopeOf = (jwt: string, cluster: string) => identityScope(identityOf(jwt, cluster))

/** A broker config with one cluster (`local`, the shared issuer) and the given rules. */
export function brokerConfig(options: {
  openbaoAddr: string
  issuerUrl?: string
  rules: Record<string, unknown>[]
  vault?: Record<string, unknown>
  cluster?: Record<string, unknown>
  clusters?: Record<string, unknown>[]
  cache?: Record<string, unknown>
}) {
  return {
    clusters: options.clusters ?? [{ name: 'local', issuer: options.issuerUrl ?? inject('issuerUrl'), audiences: [BROKER_AUDIENCE], ...options.cluster }],
    vault: { address: options.openbaoAddr, timeoutMs: 5000, ...options.vault },
    rules: options.rules,
    ...(options.cache ? { cache: options.cache } : {}),
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}

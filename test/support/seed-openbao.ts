/**
 * Seeds an OpenBao (or Vault) with the demo setup through its HTTP API only (plain
 * fetch: the demo script runs this too, outside vitest). Idempotent: mounts are enabled
 * only when absent, everything else is an upsert.
 *
 * What it writes, in Vault API terms:
 * - `sys/auth/jwt` (type jwt) and `auth/jwt/config` with `oidc_discovery_url` (or
 *   `jwks_url`) = the cluster issuer, `bound_issuer`, and all four algorithms
 *   kube-apiserver signs with (the plugin accepts only RS256 when `jwt_supported_algs`
 *   is empty);
 * - policy `myapp-read`: read on `secret/data/myapp/*` (KV v2) and `kv1/myapp/*` (KV v1);
 * - role `auth/jwt/role/demo-myapp`: bound_audiences, user_claim `sub`, and bound_claims
 *   on the nested projected-token claims with JSON pointers (`/kubernetes.io/namespace`):
 *   the jwt plugin resolves any claim name that starts with `/` as a JSON pointer;
 * - `secret/data/myapp/config` = {username, password} and `kv1/myapp/config` (same data);
 * - optionally the kubernetes auth method at `kubernetes` (TokenReview against the
 *   cluster issuer's API server) with a role of the same name.
 */

export interface OpenBaoTarget {
  address: string
  rootToken: string
  /** Vault Enterprise namespace (X-Vault-Namespace); OpenBao namespaces work the same. */
  namespace?: string
}

export interface SeedDemoOptions {
  /** The cluster's issuer (`iss`); its `/.well-known/openid-configuration` must be reachable by OpenBao. */
  issuerUrl: string
  /** The broker's audience, bound on the role. */
  audience: string
  /** Use this JWKS URL instead of OIDC discovery. */
  jwksUrl?: string
  /** Auth mount of the jwt method. Default `jwt`. */
  jwtMount?: string
  /** Namespace and ServiceAccount the role binds. Default `demo` / `myapp`. */
  namespace?: string
  serviceAccount?: string
  /** Role name. Default `demo-myapp`. */
  role?: string
  /** Also configure the kubernetes auth method (TokenReview). */
  kubernetes?: {
    /** kube-apiserver URL (`kubernetes_host`): the cluster issuer's `apiServerUrl`. */
    host: string
    /** JWT OpenBao presents to TokenReview; without it OpenBao sends the pod's own token. */
    tokenReviewerJwt?: string
    /** Expected `iss` of tokens (default: not checked). */
    issuer?: string
    /** Auth mount. Default `kubernetes`. */
    mount?: string
    /** CA of an https:// host. Default: a placeholder, fine for http:// (never used). */
    caCertPem?: string
  }
}

export const DEMO_SECRET = {
  username: 'demo-user',
  password: "s3cr3t-'quoted' $HOME",
} as const

/** The broker's audience in the demo and the tests (test/support/broker-config.ts BROKER_AUDIENCE). */
export const DEMO_AUDIENCE = 'vault-edge'
export const DEMO_POLICY_NAME = 'myapp-read'
export const DEMO_ROLE_NAME = 'demo-myapp'

export const DEMO_POLICY = `# Read the demo app's secrets (KV v2 data, KV v1).
path "secret/data/myapp/*" {
  capabilities = ["read"]
}
path "kv1/myapp/*" {
  capabilities = ["read"]
}
`

/**
 * A self-signed certificate (P-256, valid until 2126; its private key was discarded)
 * that only satisfies OpenBao's kubernetes auth config check: for an http:// API
 * server no TLS happens, so it is never used to verify anything.
 */
export const PLACEHOLDER_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBqjCCAU+gAwIBAgIULUAueQTxvdOfws6CRsxQs0fsOiAwCgYIKoZIzj0EAwIw
KTEnMCUGA1UEAwwedmF1bHQtZWRnZSB0ZXN0IHBsYWNlaG9sZGVyIENBMCAXDTI2
MTEyOTA4NDkzMVoYDzIxMjYxMTA1MDg0OTMxWjApMScwJQYDVQQDDB52YXVsdC1l
ZGdlIHRlc3QgcGxhY2Vob2xkZXIgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AATt5D+3D7s2+VjvK/bEWnUfanIrEXdFb1TxDqZUuH2e2VivySuLij0NbHr+UzbG
81AgarS/Bex92nh5yk4T9mYso1MwUTAdBgNVHQ4EFgQUNSYLNh/y0m+ZGY5h+ERm
9bNdkTcwHwYDVR0jBBgwFoAUNSYLNh/y0m+ZGY5h+ERm9bNdkTcwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA8phUPXlt4+gd54RZ1XNa23iXGvt7
u7J5Js2jKXT9E0YCIQDq1LTdNCHpOR/krjxDZ/fJeI8HlkRE2REmKkc41YlOBQ==
-----END CERTIFICATE-----
`

/** kube-apiserver signs with these (RSA or ECDSA signing keys). */
const KUBERNETES_ALGORITHMS = ['RS256', 'ES256', 'ES384', 'ES512']

export async function openBaoRequest<T = any>(
  target: OpenBaoTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { 'X-Vault-Token': target.rootToken }
  if (target.namespace) headers['X-Vault-Namespace'] = target.namespace
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${target.address.replace(/\/+$/, '')}/v1/${path.replace(/^\/+/, '')}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T }
}

async function must<T = any>(target: OpenBaoTarget, method: string, path: string, body?: unknown): Promise<T> {
  const result = await openBaoRequest<T>(target, method, path, body)
  if (result.status >= 400) {
    throw new Error(`OpenBao ${method} /v1/${path} answered ${result.status}: ${JSON.stringify(result.body)}`)
  }
  return result.body
}

/** Enables an auth method at `mount` unless something is mounted there already. */
export async function enableAuth(target: OpenBaoTarget, mount: string, type: string): Promise<void> {
  const existing = await must<Record<string, { type: string }>>(target, 'GET', 'sys/auth')
  const current = existing[`${mount}/`] ?? (existing as { data?: Record<string, { type: string }> }).data?.[`${mount}/`]
  if (current) {
    if (current.type !== type) throw new Error(`auth mount ${mount}/ is of type ${current.type}, not ${type}`)
    return
  }
  await must(target, 'POST', `sys/auth/${mount}`, { type })
}

/** Mounts a secrets engine at `mount` unless something is mounted there already. */
export async function enableSecrets(
  target: OpenBaoTarget,
  mount: string,
  type: string,
  options: Record<string, string> = {},
): Promise<void> {
  const existing = await must<{ data: Record<string, { type: string }> }>(target, 'GET', 'sys/mounts')
  if (existing.data?.[`${mount}/`]) return
  await must(target, 'POST', `sys/mounts/${mount}`, { type, options })
}

export async function writePolicy(target: OpenBaoTarget, name: string, policy: string): Promise<void> {
  await must(target, 'PUT', `sys/policies/acl/${name}`, { policy })
}

/** Writes a KV v2 secret (`mount` default `secret`, the dev server's KV v2 mount). */
export async function putKv2(
  target: OpenBaoTarget,
  path: string,
  data: Record<string, unknown>,
  mount = 'secret',
): Promise<{ version: number }> {
  const body = await must<{ data: { version: number } }>(target, 'POST', `${mount}/data/${path}`, { data })
  return { version: body.data.version }
}

export interface JwtAuthConfig {
  mount?: string
  issuerUrl?: string
  jwksUrl?: string
  /** PEM public keys (jwt_validation_pubkeys) instead of discovery/JWKS. */
  pubkeys?: string[]
}

export async function configureJwtAuth(target: OpenBaoTarget, config: JwtAuthConfig): Promise<void> {
  const mount = config.mount ?? 'jwt'
  await enableAuth(target, mount, 'jwt')
  const body: Record<string, unknown> = { jwt_supported_algs: KUBERNETES_ALGORITHMS }
  if (config.pubkeys) body.jwt_validation_pubkeys = config.pubkeys
  else if (config.jwksUrl) body.jwks_url = config.jwksUrl
  else if (config.issuerUrl) body.oidc_discovery_url = config.issuerUrl
  else throw new Error('configureJwtAuth needs issuerUrl, jwksUrl or pubkeys')
  if (config.issuerUrl) body.bound_issuer = config.issuerUrl
  await must(target, 'POST', `auth/${mount}/config`, body)
}

export interface JwtRoleDefinition {
  name: string
  audience: string | string[]
  namespace: string
  serviceAccount: string
  policies: string[]
  mount?: string
  ttl?: string
}

/** A jwt role bound to one ServiceAccount through the nested `kubernetes.io` claims. */
export async function writeJwtRole(target: OpenBaoTarget, role: JwtRoleDefinition): Promise<void> {
  await must(target, 'POST', `auth/${role.mount ?? 'jwt'}/role/${role.name}`, {
    role_type: 'jwt',
    bound_audiences: Array.isArray(role.audience) ? role.audience : [role.audience],
    user_claim: 'sub',
    bound_claims_type: 'string',
    bound_claims: {
      '/kubernetes.io/namespace': role.namespace,
      '/kubernetes.io/serviceaccount/name': role.serviceAccount,
    },
    // Copied into the token's metadata, so audit entries show who logged in.
    claim_mappings: {
      '/kubernetes.io/namespace': 'service_account_namespace',
      '/kubernetes.io/serviceaccount/name': 'service_account_name',
      '/kubernetes.io/serviceaccount/uid': 'service_account_uid',
      '/kubernetes.io/pod/name': 'pod_name',
    },
    token_policies: role.policies,
    token_ttl: role.ttl ?? '1h',
  })
}

export async function seedDemo(target: OpenBaoTarget, options: SeedDemoOptions): Promise<void> {
  const jwtMount = options.jwtMount ?? 'jwt'
  const namespace = options.namespace ?? 'demo'
  const serviceAccount = options.serviceAccount ?? 'myapp'
  const role = options.role ?? DEMO_ROLE_NAME

  await configureJwtAuth(target, { mount: jwtMount, issuerUrl: options.issuerUrl, jwksUrl: options.jwksUrl })
  await writePolicy(target, DEMO_POLICY_NAME, DEMO_POLICY)
  await writeJwtRole(target, {
    name: role,
    mount: jwtMount,
    audience: options.audience,
    namespace,
    serviceAccount,
    policies: [DEMO_POLICY_NAME],
  })

  await putKv2(target, 'myapp/config', { ...DEMO_SECRET })
  await enableSecrets(target, 'kv1', 'kv', { version: '1' })
  await must(target, 'POST', 'kv1/myapp/config', { ...DEMO_SECRET })

  if (options.kubernetes) {
    const k8s = options.kubernetes
    const mount = k8s.mount ?? 'kubernetes'
    await enableAuth(target, mount, 'kubernetes')
    await must(target, 'POST', `auth/${mount}/config`, {
      kubernetes_host: k8s.host,
      // Outside a pod: do not read /var/run/secrets/kubernetes.io/serviceaccount/*.
      // OpenBao then insists on kubernetes_ca_cert even for an http:// host, and without
      // disable_local_ca_jwt it fails on the missing ca.crt: give it a placeholder.
      disable_local_ca_jwt: true,
      kubernetes_ca_cert: k8s.caCertPem ?? PLACEHOLDER_CA_PEM,
      ...(k8s.tokenReviewerJwt ? { token_reviewer_jwt: k8s.tokenReviewerJwt } : {}),
      ...(k8s.issuer ? { issuer: k8s.issuer } : {}),
    })
    await must(target, 'POST', `auth/${mount}/role/${role}`, {
      bound_service_account_names: [serviceAccount],
      bound_service_account_namespaces: [namespace],
      audience: options.audience,
      token_policies: [DEMO_POLICY_NAME],
      token_ttl: '1h',
    })
  }
}

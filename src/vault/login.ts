// Log in with the pod's own ServiceAccount token: the broker never holds a Vault token of its
// own (SPEC §1). The jwt and kubernetes auth methods take the same body at
// `POST auth/<mount>/login` ({role, jwt}); they differ in who checks the token: the jwt method
// verifies it against the cluster's keys, the kubernetes method asks the cluster's TokenReview.
import type { ClusterConfig, Config } from '../config.ts'
import { AppError } from '../errors.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultAuthResponse, VaultLogin } from './vault-types.ts'

export type VaultAuthMethod = Config['vault']['authMethod']

/**
 * Which auth method and mount a cluster's pods log in with. A cluster may name its own mount
 * (several clusters on one Vault, each with its own keys or TokenReview host) and its own
 * method; a cluster that names only a method gets that method's default mount.
 */
export function vaultAuthFor(config: Config, cluster: ClusterConfig): { method: VaultAuthMethod; mount: string } {
  const method = cluster.vaultAuthMethod ?? config.vault.authMethod
  const ownMethod = cluster.vaultAuthMethod !== undefined && cluster.vaultAuthMethod !== config.vault.authMethod
  const mount = cluster.vaultAuthMount ?? (ownMethod ? method : config.vault.authMount)
  return { method, mount }
}

/** `issuedAtMs`: when the request was sent. Vault starts the TTL while answering, so the time of the answer would put the token's end too late. */
function toLogin(response: VaultAuthResponse | undefined, issuedAtMs: number): VaultLogin {
  const auth = response?.auth
  if (!auth?.client_token) throw new AppError(502, 'vault_error', 'Vault login returned no token.')
  // A TTL that is not a number would spread NaN through every expiry computed from it.
  if (!Number.isFinite(auth.lease_duration) || auth.lease_duration < 0) throw new AppError(502, 'vault_error', 'Vault login returned no valid TTL.')
  return {
    token: auth.client_token,
    accessor: auth.accessor,
    ttlSeconds: auth.lease_duration,
    renewable: auth.renewable === true,
    issuedAtMs,
  }
}

export async function loginWithServiceAccountToken(
  vault: VaultClient,
  options: { mount: string; role: string; jwt: string; now: () => number },
): Promise<VaultLogin> {
  let response: VaultAuthResponse
  const startedAtMs = options.now()
  try {
    response = await vault<VaultAuthResponse>('POST', `auth/${options.mount}/login`, { body: { role: options.role, jwt: options.jwt } })
  } catch (error) {
    // Vault answers 400 for "role not found" and for claims that do not match the role's bounds
    // (jwt), 403 for a token TokenReview rejects (kubernetes): to the caller both are a denial.
    if (error instanceof AppError && (error.status === 400 || error.status === 403)) {
      throw new AppError(403, 'vault_denied', 'Vault refused to log in this service account with this role.', {
        cause: error,
        logReason: `Vault login at auth/${options.mount} with role ${options.role} refused (HTTP ${error.status})`,
      })
    }
    throw error
  }
  return toLogin(response, startedAtMs)
}

/**
 * `PUT auth/token/renew-self` (the default policy allows it). Vault may give less than asked
 * for (the role's token_max_ttl); the answer's lease_duration is the new TTL from now.
 */
export async function renewToken(vault: VaultClient, login: VaultLogin, options: { incrementSeconds: number; now: () => number }): Promise<VaultLogin> {
  const startedAtMs = options.now()
  const response = await vault<VaultAuthResponse>('PUT', 'auth/token/renew-self', {
    token: login.token,
    body: { increment: `${options.incrementSeconds}s` },
  })
  const renewed = toLogin(response, startedAtMs)
  return { ...renewed, accessor: renewed.accessor || login.accessor }
}

// Log in with the pod's own ServiceAccount token: the broker never holds a Vault token of its
// own (SPEC §1). jwt and kubernetes auth methods take the same body: POST auth/<mount>/login.
import { AppError } from '../errors.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultAuthResponse, VaultLogin } from './vault-types.ts'

export async function loginWithServiceAccountToken(
  vault: VaultClient,
  options: { mount: string; role: string; jwt: string; now: () => number },
): Promise<VaultLogin> {
  let response: VaultAuthResponse
  try {
    response = await vault<VaultAuthResponse>('POST', `auth/${options.mount}/login`, { body: { role: options.role, jwt: options.jwt } })
  } catch (error) {
    // Vault answers 400 for "role not found" and for claims that do not match the role's bounds.
    if (error instanceof AppError && (error.status === 400 || error.status === 403)) {
      throw new AppError(403, 'vault_denied', 'Vault refused to log in this service account with this role.', {
        cause: error,
        logReason: `Vault login at auth/${options.mount} with role ${options.role} refused (HTTP ${error.status})`,
      })
    }
    throw error
  }
  if (!response.auth?.client_token) throw new AppError(502, 'vault_error', 'Vault login returned no token.')
  return {
    token: response.auth.client_token,
    accessor: response.auth.accessor,
    ttlSeconds: response.auth.lease_duration,
    renewable: response.auth.renewable,
    issuedAtMs: options.now(),
  }
}

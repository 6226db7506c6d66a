// Reads of any logical path. KV v2 (`<mount>/data/<path>`) wraps the key/value map in
// data.data next to data.metadata; everything else (KV v1, database creds, ...) has it in data.
import { AppError } from '../errors.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultSecret } from './vault-types.ts'

export interface SecretRead {
  /** The key/value map users render. */
  values: Record<string, unknown>
  /** KV v2 metadata (version, created_time, ...), when the path is KV v2. */
  metadata: Record<string, unknown> | undefined
  /** Vault's whole response, for templates (`.Data.data.x` / `.Data.x`). */
  secret: VaultSecret
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function unwrapSecret(path: string, secret: VaultSecret): SecretRead {
  const data = secret.data ?? {}
  const isKvV2 = path.split('/')[1] === 'data' && isRecord(data.data) && isRecord(data.metadata)
  if (isKvV2) return { values: data.data as Record<string, unknown>, metadata: data.metadata as Record<string, unknown>, secret }
  return { values: data, metadata: undefined, secret }
}

export async function readSecret(
  vault: VaultClient,
  options: { token: string; path: string; version?: number; method?: 'GET' | 'POST'; body?: unknown },
): Promise<SecretRead> {
  const query = options.version === undefined ? '' : `?version=${options.version}`
  const secret = await vault<VaultSecret | undefined>(options.method ?? 'GET', `${options.path}${query}`, {
    token: options.token,
    body: options.body,
  })
  if (!secret) throw new AppError(404, 'not_found', 'No secret at this path.')
  // KV v2 answers 200 with data: null for a deleted or destroyed version.
  if (secret.data === null || (isRecord(secret.data) && 'data' in secret.data && secret.data.data === null)) {
    throw new AppError(404, 'not_found', 'This secret version is deleted or destroyed.')
  }
  return unwrapSecret(options.path, secret)
}

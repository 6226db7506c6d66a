// Steps (3) and (4) of SPEC §1: cache lookup scoped to the identity, and on a miss a Vault login
// with the pod's own token (token cached per identity and role) and the read.
import type { Config } from './config.ts'
import { AppError } from './errors.ts'
import { identityScope, type Identity } from './identity/identity.ts'
import type { SecureCache } from './cache/secure-cache.ts'
import { loginWithServiceAccountToken } from './vault/login.ts'
import { readSecret, type SecretRead } from './vault/read-secret.ts'
import type { VaultClient } from './vault/vault-client.ts'
import type { VaultLogin } from './vault/vault-types.ts'

// Stop using a Vault token or a leased secret this long before Vault ends it.
export const TOKEN_RENEW_MARGIN_SECONDS = 30
export const LEASE_MARGIN_SECONDS = 10

export interface SecretRequest {
  identity: Identity
  /** The pod's ServiceAccount token, already verified. */
  jwt: string
  role: string
  authMount: string
  path: string
  version?: number
  kvTtlSeconds: number
  /** `Cache-Control: no-cache`: skip the cached read (the Vault token may still be reused). */
  refresh?: boolean
}

export interface CachedRead {
  read: SecretRead
  /** When the broker stops serving it as fresh (ms since epoch). */
  freshUntilMs: number
  /** When Vault's lease ends, for leased secrets (ms since epoch). */
  leaseExpiresAtMs: number | undefined
}

export interface SecretResult extends CachedRead {
  cache: 'hit' | 'miss' | 'stale'
}

export interface SecretBroker {
  getSecret(request: SecretRequest): Promise<SecretResult>
}

// Vault failures during which an expired entry may still be served (SPEC §5).
const STALE_OK_STATUSES = new Set([502, 503, 504])

export function createSecretBroker(deps: { config: Config; vault: VaultClient; cache: SecureCache; now: () => number }): SecretBroker {
  const { cache, vault, now } = deps
  const inFlight = new Map<string, Promise<SecretResult>>()

  async function login(request: SecretRequest, tokenParts: string[]): Promise<VaultLogin> {
    const login = await loginWithServiceAccountToken(vault, { mount: request.authMount, role: request.role, jwt: request.jwt, now })
    const usableSeconds = login.ttlSeconds === 0 ? deps.config.cache.kvTtlSeconds : login.ttlSeconds - TOKEN_RENEW_MARGIN_SECONDS
    if (usableSeconds >= 1) await cache.set('vault-token', tokenParts, login, usableSeconds)
    return login
  }

  async function readFromVault(request: SecretRequest): Promise<CachedRead> {
    const tokenParts = [identityScope(request.identity), request.authMount, request.role]
    let token = await cache.get<VaultLogin>('vault-token', tokenParts)
    const fromCache = token !== undefined
    token ??= await login(request, tokenParts)
    let read: SecretRead
    try {
      read = await readSecret(vault, { token: token.token, path: request.path, version: request.version })
    } catch (error) {
      // A cached token may have been revoked behind our back: one fresh login, then Vault's answer stands.
      if (!(fromCache && error instanceof AppError && error.status === 403)) throw error
      await cache.delete('vault-token', tokenParts)
      token = await login(request, tokenParts)
      read = await readSecret(vault, { token: token.token, path: request.path, version: request.version })
    }
    const issuedAtMs = now()
    const leased = read.secret.lease_duration > 0 && read.secret.lease_id !== ''
    const freshSeconds = leased ? Math.max(1, read.secret.lease_duration - LEASE_MARGIN_SECONDS) : request.kvTtlSeconds
    return {
      read,
      freshUntilMs: issuedAtMs + freshSeconds * 1000,
      leaseExpiresAtMs: leased ? issuedAtMs + read.secret.lease_duration * 1000 : undefined,
    }
  }

  async function resolve(request: SecretRequest, parts: string[]): Promise<SecretResult> {
    const cached = await cache.get<CachedRead>('secret', parts)
    if (cached && !request.refresh && cached.freshUntilMs > now()) return { ...cached, cache: 'hit' }
    try {
      const fresh = await readFromVault(request)
      // Keep the entry past its freshness for stale serving, but never past a lease's end.
      const keepMs = fresh.leaseExpiresAtMs ?? fresh.freshUntilMs + deps.config.cache.maxStaleSeconds * 1000
      await cache.set('secret', parts, fresh, (keepMs - now()) / 1000)
      return { ...fresh, cache: 'miss' }
    } catch (error) {
      const usable = cached && (cached.leaseExpiresAtMs ?? Infinity) > now()
      if (usable && error instanceof AppError && STALE_OK_STATUSES.has(error.status)) return { ...cached, cache: 'stale' }
      throw error
    }
  }

  return {
    getSecret(request) {
      const parts = [identityScope(request.identity), request.authMount, request.role, request.path, String(request.version ?? '')]
      const flightKey = JSON.stringify(parts) + (request.refresh ? ' refresh' : '')
      // Concurrent misses for one entry inside this isolate share one Vault call.
      let pending = inFlight.get(flightKey)
      if (!pending) {
        pending = resolve(request, parts).finally(() => inFlight.delete(flightKey))
        inFlight.set(flightKey, pending)
      }
      return pending
    },
  }
}

// The Vault tokens the broker holds on behalf of pods (SPEC §1, §5). One per identity, auth
// mount and role, cached sealed; reused until shortly before Vault ends it; renewed
// (`auth/token/renew-self`) once half its TTL has passed while it is in use; and when Vault
// refuses a cached token (revoked behind the broker's back), exactly one fresh login is made
// before Vault's 403 is passed on.
import type { SecureCache } from '../cache/secure-cache.ts'
import { AppError } from '../errors.ts'
import { identityScope, type Identity } from '../identity/identity.ts'
import type { LeaseToken } from './lease-registry.ts'
import { loginWithServiceAccountToken, renewToken } from './login.ts'
import type { VaultClient } from './vault-client.ts'
import type { VaultLogin } from './vault-types.ts'

/** Stop using a token this long before Vault ends it (capped at a quarter of short TTLs). */
export const TOKEN_RENEW_MARGIN_SECONDS = 30
/** A valid token that Vault denies a path is swapped for a fresh login at most this often. */
export const DENIED_RELOGIN_INTERVAL_SECONDS = 60
/** Tokens without an expiry (ttl 0) are still logged in again this often. */
export const TOKEN_NO_TTL_CACHE_SECONDS = 300

export interface TokenRequest {
  identity: Identity
  /** The pod's ServiceAccount token, already verified by the broker. */
  jwt: string
  role: string
  authMount: string
}

/** Names a cached token: the identity's scope, the auth mount and the role. */
export type TokenParts = readonly [scope: string, authMount: string, role: string]

export const tokenPartsOf = (request: Pick<TokenRequest, 'identity' | 'authMount' | 'role'>): TokenParts => [
  identityScope(request.identity),
  request.authMount,
  request.role,
]

export interface TokenSource {
  /**
   * Runs `use` with this identity's token for the role: the cached one, renewed when due, or a
   * fresh login. A 403 from `use` on a cached token causes one fresh login and one more try.
   */
  withToken<T>(request: TokenRequest, use: (login: VaultLogin) => Promise<T>): Promise<T>
  /**
   * For the lease renewal job: the cached token under `parts`, renewed first when it would end
   * within `horizonSeconds` or has passed half its TTL. Undefined when none is cached (the pod's
   * JWT is not kept, so the job cannot log in).
   */
  keepAlive(parts: TokenParts, horizonSeconds: number): Promise<VaultLogin | undefined>
}

export const tokenExpiresAtMs = (login: VaultLogin) => (login.ttlSeconds === 0 ? Infinity : login.issuedAtMs + login.ttlSeconds * 1000)

/** What a lease read with `login` needs to know of it (JSON has no Infinity: no end, no field). */
export const leaseTokenOf = (login: VaultLogin): LeaseToken =>
  login.ttlSeconds === 0 ? { accessor: login.accessor } : { accessor: login.accessor, expiresAtMs: tokenExpiresAtMs(login) }

const marginMs = (login: VaultLogin) => Math.min(TOKEN_RENEW_MARGIN_SECONDS, Math.ceil(login.ttlSeconds / 4)) * 1000

/** How long the broker may keep using a token from `nowMs` (0: not any more). */
export function usableSeconds(login: VaultLogin, nowMs: number): number {
  if (login.ttlSeconds === 0) return Math.max(0, TOKEN_NO_TTL_CACHE_SECONDS - (nowMs - login.issuedAtMs) / 1000)
  return Math.max(0, (tokenExpiresAtMs(login) - marginMs(login) - nowMs) / 1000)
}

function renewalDue(login: VaultLogin, nowMs: number, horizonSeconds = 0): boolean {
  if (!login.renewable || login.ttlSeconds === 0) return false
  const remainingMs = tokenExpiresAtMs(login) - nowMs
  return nowMs - login.issuedAtMs >= (login.ttlSeconds * 1000) / 2 || remainingMs <= horizonSeconds * 1000 + marginMs(login)
}

const isDenied = (error: unknown) => error instanceof AppError && error.status === 403

export function createTokenSource(deps: {
  vault: VaultClient
  cache: SecureCache
  now: () => number
  log?: (message: string, fields?: Record<string, unknown>) => void
}): TokenSource {
  const { vault, cache, now } = deps
  const log = deps.log ?? (() => {})
  // Within one isolate, concurrent requests of one identity share a login or a renewal.
  const pending = new Map<string, Promise<VaultLogin | undefined>>()
  const once = <T extends VaultLogin | undefined>(key: string, run: () => Promise<T>): Promise<T> => {
    let promise = pending.get(key) as Promise<T> | undefined
    if (!promise) {
      promise = run().finally(() => pending.delete(key))
      pending.set(key, promise)
    }
    return promise
  }

  async function store(parts: TokenParts, login: VaultLogin): Promise<void> {
    const seconds = usableSeconds(login, now())
    if (seconds >= 1) await cache.set('vault-token', parts, login, seconds)
    else await cache.delete('vault-token', parts)
  }

  function login(request: TokenRequest, parts: TokenParts): Promise<VaultLogin> {
    return once(`login ${JSON.stringify(parts)}`, async () => {
      const fresh = await loginWithServiceAccountToken(vault, { mount: request.authMount, role: request.role, jwt: request.jwt, now })
      await store(parts, fresh)
      return fresh
    })
  }

  /** Renews `current`; a token Vault no longer knows is dropped (undefined), other faults keep it. */
  function renew(parts: TokenParts, current: VaultLogin): Promise<VaultLogin | undefined> {
    return once(`renew ${JSON.stringify(parts)}`, async () => {
      try {
        const renewed = await renewToken(vault, current, { incrementSeconds: current.ttlSeconds, now })
        await store(parts, renewed)
        return renewed
      } catch (error) {
        if (isDenied(error)) {
          await cache.delete('vault-token', parts)
          return undefined
        }
        log('Vault token renewal failed; using the token until it ends', { status: error instanceof AppError ? error.status : undefined })
        return current
      }
    })
  }

  /** `auth/token/lookup-self` (default policy) answers 403 for a revoked token; any other failure counts as revoked too. */
  async function stillValid(login: VaultLogin): Promise<boolean> {
    try {
      await vault('GET', 'auth/token/lookup-self', { token: login.token })
      return true
    } catch {
      return false
    }
  }

  /** `shared`: ask the shared store, not only what this process holds (another process may have logged in). */
  async function cached(parts: TokenParts, options?: { shared?: boolean }): Promise<VaultLogin | undefined> {
    const login = await cache.get<VaultLogin>('vault-token', parts, options)
    return login && usableSeconds(login, now()) > 0 ? login : undefined
  }

  return {
    async withToken(request, use) {
      const parts = tokenPartsOf(request)
      let token = await cached(parts)
      if (token && renewalDue(token, now())) token = await renew(parts, token)
      if (!token) return use(await login(request, parts))
      try {
        return await use(token)
      } catch (error) {
        if (!isDenied(error)) throw error
        // Revoked behind our back, or a path this token may not read. A fresh login on every
        // denial would mint one Vault token per request (each living its whole TTL) for any pod
        // asking for a path its policy lacks. So a young token that Vault says still stands
        // keeps the denial; an older one is swapped once (the role's policies may have changed).
        if (now() - token.issuedAtMs < DENIED_RELOGIN_INTERVAL_SECONDS * 1000 && (await stillValid(token))) throw error
        // Another request may have logged in already; then its token is the fresh one.
        const current = await cached(parts, { shared: true })
        if (current && current.token !== token.token) return use(current)
        if (current) await cache.delete('vault-token', parts)
        return use(await login(request, parts))
      }
    },

    async keepAlive(parts, horizonSeconds) {
      const token = await cached(parts)
      if (!token || !renewalDue(token, now(), horizonSeconds)) return token
      return renew(parts, token)
    },
  }
}

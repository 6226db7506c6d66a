// One remote JWKS, as jose's createRemoteJWKSet serves it (cooldown, reload on an unknown kid,
// cacheMaxAge), with two things added around it rather than instead of it (STYLE: don't wrap
// jose's cache in our own):
//
// - persistence: jose's `jwksCache` hook is an object it reads when the set is created and
//   updates in place ({jwks, uat}) after every successful fetch. We seed it from the broker's
//   SecureCache and write it back when `uat` moves, so a new Worker isolate or process starts
//   with the keys instead of fetching them.
// - stale-if-error: once cacheMaxAge has passed jose refetches on every call and throws when that
//   fails, dropping keys that were good a minute ago. When the endpoint fails we verify with the
//   last good set instead, for up to JWKS_STALE_IF_ERROR_MS (RFC 5861's stale-if-error, for keys).
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  jwksCache,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWSHeaderParameters,
} from 'jose'
import type { SecureCache } from '../cache/secure-cache.ts'
import { createCooldownFetch } from './cooldown-fetch.ts'

/** jose's defaults, named: at most one fetch per cooldown; keys are refreshed after max age. */
export const JWKS_COOLDOWN_MS = 30_000
export const JWKS_MAX_AGE_MS = 10 * 60_000
/** How long the last good JWKS keeps verifying while its endpoint fails. */
export const JWKS_STALE_IF_ERROR_MS = 24 * 60 * 60_000
const JWKS_FETCH_TIMEOUT_MS = 5000

export type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

interface StoredJwks {
  jwks: JSONWebKeySet
  /** When it was fetched (ms since the epoch), by whichever process fetched it. */
  uat: number
}

export interface CachedRemoteJwksOptions {
  url: URL
  fetch: typeof fetch
  cache: SecureCache
  onFailure?: (reason: string, url: string) => void
}

const isStoredJwks = (value: unknown): value is StoredJwks => {
  if (typeof value !== 'object' || value === null) return false
  const { jwks, uat } = value as Partial<StoredJwks>
  return typeof uat === 'number' && Number.isFinite(uat) && typeof jwks === 'object' && jwks !== null && Array.isArray(jwks.keys)
}

/**
 * jose's answers about the token rather than about the endpoint: these stand, whatever a stale
 * copy would say (NoMatchingKey has already had its one reload, if the cooldown allowed it).
 */
const isAnswerAboutToken = (error: unknown) =>
  error instanceof joseErrors.JWKSNoMatchingKey ||
  error instanceof joseErrors.JWKSMultipleMatchingKeys ||
  error instanceof joseErrors.JOSENotSupported

export function createCachedRemoteJwks(options: CachedRemoteJwksOptions): KeyLookup {
  const cacheParts = [options.url.href] as const
  // The object jose reads at creation and updates on each successful reload.
  const shared: Partial<StoredJwks> = {}
  let persistedUat: number | undefined
  let starting: Promise<KeyLookup> | undefined
  let staleSet: { uat: number; lookup: KeyLookup } | undefined

  const fetchAtMostOncePerCooldown = createCooldownFetch({
    fetch: options.fetch,
    cooldownMs: JWKS_COOLDOWN_MS,
    hasFallback: () => shared.jwks !== undefined,
    onFailure: options.onFailure,
  })

  async function readStored(): Promise<StoredJwks | undefined> {
    try {
      const stored = await options.cache.get<unknown>('jwks', cacheParts)
      return isStoredJwks(stored) ? stored : undefined
    } catch {
      return undefined // the cache only saves a fetch; never fail verification over it
    }
  }

  async function start(): Promise<KeyLookup> {
    const stored = await readStored()
    if (stored) {
      shared.jwks = stored.jwks
      shared.uat = stored.uat
      persistedUat = stored.uat
    }
    // jose takes the seeded set only while it is younger than cacheMaxAge; an older one stays in
    // `shared` as the stale-if-error fallback until a fetch succeeds.
    return createRemoteJWKSet(options.url, {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
      timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
      [customFetch]: fetchAtMostOncePerCooldown,
      [jwksCache]: shared as JWKSCacheInput,
    })
  }

  async function persistIfReloaded(): Promise<void> {
    const { jwks, uat } = shared
    if (jwks === undefined || uat === undefined || uat === persistedUat) return
    persistedUat = uat
    try {
      await options.cache.set('jwks', cacheParts, { jwks, uat } satisfies StoredJwks, JWKS_STALE_IF_ERROR_MS / 1000)
    } catch {
      // Not persisted: the next isolate fetches once. Verification is unaffected.
    }
  }

  function lastGoodSet(): KeyLookup | undefined {
    const { jwks, uat } = shared
    if (jwks === undefined || uat === undefined || Date.now() - uat > JWKS_STALE_IF_ERROR_MS) return undefined
    if (staleSet?.uat !== uat) staleSet = { uat, lookup: createLocalJWKSet(jwks) }
    return staleSet.lookup
  }

  return async (header, token) => {
    const remote = await (starting ??= start())
    try {
      return await remote(header, token)
    } catch (error) {
      if (isAnswerAboutToken(error)) throw error
      // The endpoint failed (or the cooldown suppressed a refetch): keep verifying with what we had.
      const lastGood = lastGoodSet()
      if (!lastGood) throw error
      return await lastGood(header, token)
    } finally {
      await persistIfReloaded()
    }
  }
}

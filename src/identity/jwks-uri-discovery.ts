// OpenID Connect Discovery 1.0 §4: `{issuer}/.well-known/openid-configuration` names the JWKS
// (kube-apiserver serves it with ServiceAccountIssuerDiscovery, on since 1.21). The answer is
// cached like the keys it leads to: in the isolate, in the SecureCache for the next isolate, and
// served stale when the issuer is unreachable.
import type { SecureCache } from '../cache/secure-cache.ts'
import { createCooldownFetch } from './cooldown-fetch.ts'

export const DISCOVERY_MAX_AGE_MS = 60 * 60_000
export const DISCOVERY_STALE_IF_ERROR_MS = 24 * 60 * 60_000
const DISCOVERY_COOLDOWN_MS = 30_000
const DISCOVERY_TIMEOUT_MS = 5000

interface StoredDiscovery {
  jwksUri: string
  fetchedAtMs: number
}

export interface JwksUriDiscoveryOptions {
  issuer: string
  fetch: typeof fetch
  cache: SecureCache
  onFailure?: (reason: string, url: string) => void
}

const isStoredDiscovery = (value: unknown): value is StoredDiscovery =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as StoredDiscovery).jwksUri === 'string' &&
  Number.isFinite((value as StoredDiscovery).fetchedAtMs)

class DiscoveryError extends Error {
  constructor(reason: string) {
    super(`OIDC discovery ${reason}`)
    this.name = 'DiscoveryError'
  }
}

/**
 * The keys decide every identity of the cluster: an https issuer's document may not send them
 * over plain http, where anyone on the path could swap them (OIDC Discovery §3 asks for https;
 * http stays for http issuers, such as a local test cluster).
 */
function parseJwksUri(text: string, issuer: string): URL | undefined {
  try {
    const url = new URL(text)
    if (url.protocol === 'https:') return url
    return url.protocol === 'http:' && !issuer.startsWith('https:') ? url : undefined
  } catch {
    return undefined
  }
}

/** Returns a function giving the issuer's current jwks_uri. */
export function createJwksUriDiscovery(options: JwksUriDiscoveryOptions): () => Promise<URL> {
  const documentUrl = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  // The cache entry is named by the issuer: the same issuer in another isolate shares it.
  const cacheParts = ['openid-configuration', options.issuer] as const
  let known: StoredDiscovery | undefined
  let loading: Promise<void> | undefined

  const fetchAtMostOncePerCooldown = createCooldownFetch({
    fetch: options.fetch,
    cooldownMs: DISCOVERY_COOLDOWN_MS,
    hasFallback: () => known !== undefined,
    onFailure: options.onFailure,
  })

  async function loadStored(): Promise<void> {
    try {
      const stored = await options.cache.get<unknown>('jwks', cacheParts)
      if (isStoredDiscovery(stored) && parseJwksUri(stored.jwksUri, options.issuer)) known = stored
    } catch {
      // A cache fault only costs a fetch.
    }
  }

  async function fetchDocument(): Promise<StoredDiscovery> {
    const response = await fetchAtMostOncePerCooldown(documentUrl, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      // Like jose's JWKS fetch: a redirect could lead anywhere; the issuer must answer itself.
      redirect: 'manual',
    })
    if (response.status !== 200) throw new DiscoveryError(`answered ${response.status}`)
    let metadata: { issuer?: unknown; jwks_uri?: unknown }
    try {
      metadata = (await response.json()) as typeof metadata
    } catch {
      throw new DiscoveryError('did not answer JSON')
    }
    // §4.3: the issuer in the document MUST be identical to the one it was fetched for.
    if (typeof metadata !== 'object' || metadata === null || metadata.issuer !== options.issuer) {
      options.onFailure?.('document names another issuer', documentUrl)
      throw new DiscoveryError('document names another issuer')
    }
    if (typeof metadata.jwks_uri !== 'string' || !parseJwksUri(metadata.jwks_uri, options.issuer)) {
      options.onFailure?.('document has no usable jwks_uri (https for an https issuer)', documentUrl)
      throw new DiscoveryError('document has no usable jwks_uri')
    }
    return { jwksUri: metadata.jwks_uri, fetchedAtMs: Date.now() }
  }

  // One URL object per jwks_uri, not one per call: every remembered token's key check asks (issue 9 profile: ~2 % of a cached read).
  let parsed: { href: string; url: URL } | undefined
  const urlOf = (discovery: StoredDiscovery): URL => {
    if (parsed?.href !== discovery.jwksUri) parsed = { href: discovery.jwksUri, url: new URL(discovery.jwksUri) }
    return parsed.url
  }

  return async () => {
    await (loading ??= loadStored())
    const age = known === undefined ? Number.POSITIVE_INFINITY : Date.now() - known.fetchedAtMs
    if (known !== undefined && age <= DISCOVERY_MAX_AGE_MS) return urlOf(known)
    try {
      known = await fetchDocument()
    } catch (error) {
      if (known !== undefined && age <= DISCOVERY_STALE_IF_ERROR_MS) return urlOf(known)
      throw error
    }
    try {
      await options.cache.set('jwks', cacheParts, known, DISCOVERY_STALE_IF_ERROR_MS / 1000)
    } catch {
      // Not persisted: the next isolate asks the issuer once.
    }
    return urlOf(known)
  }
}

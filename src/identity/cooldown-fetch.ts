// A fetch for JWKS and discovery documents that starts at most one request per cooldown.
//
// jose's remote JWKS only cools down after a *successful* fetch: while the endpoint fails, every
// request with an unknown kid (or every request at all, once cacheMaxAge has passed) would
// refetch. A flood of forged tokens would then become a flood on the cluster's API server. This
// gate closes that gap; when it refuses, the caller serves what it has cached.

export class FetchSuppressedError extends Error {
  constructor() {
    super('fetch suppressed: another attempt started within the cooldown')
    this.name = 'FetchSuppressedError'
  }
}

export interface CooldownFetchOptions {
  fetch: typeof fetch
  cooldownMs: number
  /**
   * Whether the caller has something to serve when refused. A cold caller (nothing cached)
   * may join an attempt already in flight instead: jose does not share one fetch between
   * concurrent Worker requests, and refusing them would fail every request of a cold start.
   */
  hasFallback: () => boolean
  /** Called once per failed attempt (not per suppressed one). */
  onFailure?: (reason: string) => void
  /** Milliseconds since the epoch; jose's own cooldown uses Date.now, so default to that. */
  clock?: () => number
}

export function createCooldownFetch(options: CooldownFetchOptions): typeof fetch {
  const clock = options.clock ?? Date.now
  let lastAttemptMs = Number.NEGATIVE_INFINITY
  let inFlight = 0
  return async (input, init) => {
    const now = clock()
    if (now - lastAttemptMs < options.cooldownMs && (options.hasFallback() || inFlight === 0)) {
      throw new FetchSuppressedError()
    }
    lastAttemptMs = now
    inFlight++
    try {
      const response = await options.fetch(input, init)
      if (response.status !== 200) {
        options.onFailure?.(`answered ${response.status}`)
        // Release the connection: the callers only look at the status of a failed answer.
        await response.body?.cancel().catch(() => {})
        // (An opaque redirect has status 0, which a Response cannot be built with.)
        return new Response(null, { status: response.status >= 200 && response.status <= 599 ? response.status : 502 })
      }
      return response
    } catch (error) {
      options.onFailure?.(error instanceof Error ? error.name : 'fetch failed')
      throw error
    } finally {
      inFlight--
    }
  }
}

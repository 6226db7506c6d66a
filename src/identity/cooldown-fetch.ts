// A fetch for JWKS and discovery documents: at most one request in flight per URL, and at most one
// started per cooldown, whether anything is cached or not.
//
// jose's remote JWKS only cools down after a *successful* fetch, and shares a pending fetch
// nowhere on Workers: while the endpoint fails or hangs, every request with an unknown kid would
// start its own fetch. A flood of forged tokens would then become a flood on the cluster's API
// server (issue: 357 forged tokens, 357 requests to a hanging issuer). This gate closes that gap:
// - a caller with nothing cached joins the attempt in flight and gets its answer, or, within the
//   cooldown of an attempt that succeeded, that answer;
// - a caller with something cached is refused at once and serves what it has (no waiting);
// - within the cooldown of the last attempt, everyone is refused, cached or not.
import { describeFetchFailure } from '../describe-fetch-failure.ts'

export class FetchSuppressedError extends Error {
  constructor() {
    super('fetch suppressed: another attempt started within the cooldown')
    this.name = 'FetchSuppressedError'
  }
}

export interface CooldownFetchOptions {
  fetch: typeof fetch
  cooldownMs: number
  /** Whether the caller has something to serve when refused (then it never waits for a fetch). */
  hasFallback: () => boolean
  /** Called once per failed attempt (not per joined or suppressed caller), with the cause in words and the URL. */
  onFailure?: (reason: string, url: string) => void
  /** Milliseconds since the epoch; jose's own cooldown uses Date.now, so default to that. */
  clock?: () => number
}

/** An answer read to its end, so that each joined caller gets a Response of its own. */
interface Answer {
  status: number
  contentType: string | null
  body: string | null
}

// Workers forbid one request from reading another's I/O objects: the answer is shared as a
// string and every caller builds its own Response from it.
const toResponse = (answer: Answer) =>
  new Response(answer.body, { status: answer.status, headers: answer.contentType ? { 'Content-Type': answer.contentType } : {} })

export function createCooldownFetch(options: CooldownFetchOptions): typeof fetch {
  const clock = options.clock ?? Date.now
  let lastAttemptMs = Number.NEGATIVE_INFINITY
  let inFlight: Promise<Answer> | undefined
  let lastSuccess: { answer: Answer; atMs: number } | undefined

  async function attempt(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): Promise<Answer> {
    const url = String(input instanceof Request ? input.url : input)
    try {
      const response = await options.fetch(input, init)
      if (response.status !== 200) {
        options.onFailure?.(`answered HTTP ${response.status}`, url)
        // Release the connection: the callers only look at the status of a failed answer.
        await response.body?.cancel().catch(() => {})
        // (An opaque redirect has status 0, which a Response cannot be built with.)
        return { status: response.status >= 200 && response.status <= 599 ? response.status : 502, contentType: null, body: null }
      }
      const body = await response.text()
      // Both documents are JSON; the caller refuses anything else, the log says why here.
      try {
        JSON.parse(body)
      } catch {
        options.onFailure?.('answered 200 with a body that is not JSON', url)
      }
      return { status: 200, contentType: response.headers.get('Content-Type'), body }
    } catch (error) {
      options.onFailure?.(describeFetchFailure(error), url)
      throw error
    }
  }

  return async (input, init) => {
    if (inFlight && !options.hasFallback()) return toResponse(await inFlight)
    const now = clock()
    if (now - lastAttemptMs < options.cooldownMs) {
      // Nothing cached yet and the attempt of this cooldown has just succeeded: its answer, as if
      // joined. (On Workers jose does not share a reload between requests, so a caller could come
      // after the attempt ended but before its keys were stored, and was refused: a 401 in a burst.)
      if (!options.hasFallback() && lastSuccess?.atMs === lastAttemptMs) return toResponse(lastSuccess.answer)
      throw new FetchSuppressedError()
    }
    lastAttemptMs = now
    const current = attempt(input, init)
    inFlight = current
    try {
      const answer = await current
      if (answer.status === 200) lastSuccess = { answer, atMs: now }
      return toResponse(answer)
    } finally {
      if (inFlight === current) inFlight = undefined
    }
  }
}

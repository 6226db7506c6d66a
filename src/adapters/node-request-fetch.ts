// Node: a fetch for Vault built on undici.request instead of undici's fetch. Both are the same
// HTTP client (connection pool, keep-alive, TLS through the dispatcher), but fetch runs the whole
// WHATWG fetch algorithm and web streams around every call: ~350 µs more CPU per call than
// request on this machine, two calls (login, read) per miss (issue 9 profile of a miss: undici's
// fetch machinery was ~40 % of the broker's CPU).
//
// It gives what vault-client.ts uses of a Response, with fetch's failures: a network error rejects
// as TypeError('fetch failed', { cause }), an aborted signal with its reason; a body that breaks
// off or times out after the headers fails when read (response.text()), as fetch's does. The body
// is read before the Response is returned (Vault's answers are small); readers take its text
// through src/transport/buffered-response.ts. Only the caller's headers are sent (no fetch
// defaults such as accept or user-agent: Vault reads none of them). What it does not model — a
// Request as input, a body other than a string, redirects followed (the /readyz probe) — goes to
// undici's fetch on the same dispatcher.
import { fetch as undiciFetch, request, type Dispatcher } from 'undici'
import { rememberText } from '../transport/buffered-response.ts'

/** RFC 9110 §15: answers that carry no content; a Response refuses a body for them. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

const MAX_RESPONSE_STATUS = 599

type HeaderPairs = Record<string, string>

function headersOf(init: HeadersInit | undefined): HeaderPairs | undefined {
  if (init === undefined) return undefined
  if (init instanceof Headers) return Object.fromEntries(init)
  if (Array.isArray(init)) return undefined // name/value pairs: left to fetch, which reads every form
  return init as HeaderPairs
}

function answerHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const name in raw) {
    const value = raw[name]
    if (typeof value === 'string') headers.append(name, value)
    else if (value !== undefined) for (const one of value) headers.append(name, one)
  }
  return headers
}

/** A body that fails when read, as fetch's does when the connection breaks off or the signal aborts mid-body. */
const failingBody = (reason: unknown) =>
  new ReadableStream({
    start(controller) {
      controller.error(reason)
    },
  })

const utf8 = new TextDecoder()
const startsWithBom = (bytes: Uint8Array) => bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf

/** What Node's Response.text() gives: UTF-8, up to two leading BOMs dropped (its undici drops one, then its TextDecoder another). */
const textOf = (bytes: Uint8Array) => utf8.decode(startsWithBom(bytes) ? bytes.subarray(3) : bytes)

export function createNodeRequestFetch(dispatcher?: Dispatcher): typeof fetch {
  const viaFetch = (input: RequestInfo | URL, init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), ...(dispatcher ? { dispatcher } : {}) } as never) as unknown as Promise<Response>

  return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const requestHeaders = headersOf(init.headers)
    const modelled = (typeof input === 'string' || input instanceof URL) &&
      init.redirect === 'manual' &&
      (init.body === undefined || init.body === null || typeof init.body === 'string') &&
      (init.headers === undefined || requestHeaders !== undefined)
    if (!modelled) return viaFetch(input, init)

    const signal = init.signal ?? undefined
    let answer: Dispatcher.ResponseData
    try {
      answer = await request(input, {
        method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: requestHeaders,
        body: (init.body ?? undefined) as string | undefined,
        signal,
        ...(dispatcher ? { dispatcher } : {}),
      })
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      throw new TypeError('fetch failed', { cause: error })
    }
    let body: Uint8Array<ArrayBuffer> | ReadableStream
    try {
      body = new Uint8Array(await answer.body.arrayBuffer())
    } catch (error) {
      body = failingBody(signal?.aborted ? signal.reason : new TypeError('terminated', { cause: error }))
    }
    const status = answer.statusCode
    const headers = answerHeaders(answer.headers)
    if (status > MAX_RESPONSE_STATUS) {
      // fetch hands on a status the Response constructor refuses (HTTP/1.1 allows 600–999): so do we.
      return Object.defineProperty(new Response(body, { status: MAX_RESPONSE_STATUS, headers }), 'status', { value: status })
    }
    if (NULL_BODY_STATUSES.has(status)) return new Response(null, { status, headers })
    const response = new Response(body, { status, headers })
    return body instanceof Uint8Array ? rememberText(response, () => textOf(body)) : response
  }) as typeof fetch
}

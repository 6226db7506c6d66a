// A route's answer built once, from a plain record of headers (issue 9). On @hono/node-server a
// Response made with a plain object goes to the socket as it is, but one whose `headers` anything
// touched goes through a Headers object and back: ~9 µs of a ~45 µs cached read (bench, Hono
// answering the same bytes both ways). So the headers every answer carries (commonHeaders) are
// merged in here rather than set afterwards, the If-None-Match check is made here rather than by
// Hono's etag middleware (which reads the response's headers), and the audit trail reads X-Cache
// from the record (headerOf). Headers set with c.header() before a route answers are not kept:
// routes that answer this way set none.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'

/** What every response carries (app.ts sets these on responses not built here). */
export function commonHeaders(requestId: string): Record<string, string> {
  return {
    // Our own id, never the client's X-Request-Id (app.ts).
    'X-Request-Id': requestId,
    // Secrets must not sit in shared or browser caches (SPEC §2).
    'Cache-Control': 'no-store',
    // No browser may guess another type than the one sent (a secret rendered as HTML, say).
    'X-Content-Type-Options': 'nosniff',
  }
}

/**
 * What a 304 keeps of the 200 it stands for: RFC 9110 §15.4.5's list (as Hono's etag middleware
 * keeps it), and the cache and lease headers, so a polling client still learns when to refresh.
 */
const RETAINED_304_HEADERS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'x-cache', 'x-vault-lease-expires', 'x-vault-lease-duration', 'x-refresh-after']
const RETAINED = new Set(RETAINED_304_HEADERS)

// On the Response itself, not in a WeakMap: one WeakMap entry per answer made each garbage
// collection walk its ephemerons (issue 9).
const RECORD = Symbol('answer headers')
type Recorded = Response & { [RECORD]?: Record<string, string> }

/** The response, with `headers` and the common headers; app.ts adds nothing to it afterwards. */
export function answer(c: Context<AppEnv>, body: Uint8Array<ArrayBuffer> | string | null, status: 200 | 304, headers: Record<string, string>): Response {
  const all = { ...headers, ...commonHeaders(c.get('requestId')) }
  const response = new Response(body, { status, headers: all })
  ;(response as Recorded)[RECORD] = all
  return response
}

const HTTP_WHITESPACE_AROUND = /^[\t\n\r ]+|[\t\n\r ]+$/g

/**
 * RFC 9110 §13.1.2 as Hono's etag middleware decides it: `*`, or any listed entity-tag equal to
 * ours under weak comparison (a `W/` prefix does not count). Written here because that
 * middleware reads the response's headers (above); test/routes/answer.test.ts holds the two to
 * the same answers.
 */
export function ifNoneMatchMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  // As a Headers object hands it over: without leading or trailing HTTP whitespace.
  if (ifNoneMatch.replace(HTTP_WHITESPACE_AROUND, '') === '*') return true
  const ours = etag.replace(/^W\//, '')
  return ifNoneMatch.match(/"[^"]*"/g)?.some((tag) => tag === ours) ?? false
}

/** The 304 for a 200 that would carry `headers`: only what RETAINED_304_HEADERS names. */
export function notModified(c: Context<AppEnv>, headers: Record<string, string>): Response {
  const kept: Record<string, string> = {}
  for (const name in headers) if (RETAINED.has(name.toLowerCase())) kept[name] = headers[name]!
  return answer(c, null, 304, kept)
}

/** A header of the response, read from the record when it was built here (no Headers object made). */
export function headerOf(response: Response, name: string): string | null {
  const record = (response as Recorded)[RECORD]
  if (record === undefined) return response.headers.get(name)
  const lower = name.toLowerCase()
  for (const key in record) if (key.toLowerCase() === lower) return record[key]!
  return null
}

/** Whether the response was built here, with the common headers already in it. */
export const isAnswer = (response: Response): boolean => (response as Recorded)[RECORD] !== undefined

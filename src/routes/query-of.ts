// The request's query parameters, parsed once per request: Hono scans the URL again on every
// c.req.query(name), and even its one-pass c.req.query() was ~4 % of a cached read on Node
// (issue 9 profile), iterating URLSearchParams ~3 %.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'

/** As c.req.query(): the first value of each name, percent-decoded (`+` is a space); empty names skipped. */
export function queryOf(c: Context<AppEnv>): Record<string, string | undefined> {
  let query = c.get('query')
  if (query === undefined) {
    query = parseQuery(c.req.url)
    c.set('query', query)
  }
  return query
}

const ESCAPED = /[%+]/

export function parseQuery(url: string): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = Object.create(null)
  const start = url.indexOf('?')
  if (start === -1) return query
  const end = url.indexOf('#', start)
  const search = url.slice(start + 1, end === -1 ? undefined : end)
  // Hand-split only what needs no decoding (`?format=env`, what pods send): the same pairs the
  // URL's searchParams give, without their iterator. Anything escaped goes to searchParams.
  if (ESCAPED.test(search)) {
    for (const [name, value] of new URL(url).searchParams) if (name !== '' && query[name] === undefined) query[name] = value
    return query
  }
  for (const pair of search.split('&')) {
    const equals = pair.indexOf('=')
    const name = equals === -1 ? pair : pair.slice(0, equals)
    if (name !== '' && query[name] === undefined) query[name] = equals === -1 ? '' : pair.slice(equals + 1)
  }
  return query
}

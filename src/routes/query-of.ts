// The request's query parameters, parsed once per request with the runtime's URLSearchParams:
// Hono scans the URL again on every c.req.query(name), and even its one-pass c.req.query() cost
// ~3× URLSearchParams on Node (issue 9 profile: ~4 % of a cached read).
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

export function parseQuery(url: string): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = Object.create(null)
  const start = url.indexOf('?')
  if (start === -1) return query
  const end = url.indexOf('#', start)
  for (const [name, value] of new URLSearchParams(url.slice(start + 1, end === -1 ? undefined : end))) {
    if (name !== '' && query[name] === undefined) query[name] = value
  }
  return query
}

// The request's query parameters, parsed once: Hono scans the URL again on every
// c.req.query(name), and a cached read asks for several (issue 9 profile: ~3% of a hit).
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'

/** As c.req.query(): the first value of each name, percent-decoded. */
export function queryOf(c: Context<AppEnv>): Record<string, string | undefined> {
  let query = c.get('query')
  if (query === undefined) {
    query = c.req.query()
    c.set('query', query)
  }
  return query
}

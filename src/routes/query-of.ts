// The query parameters the read routes know (SPEC §2: format, version, key, prefix, metadata,
// role), parsed once per request into one fixed shape. Hono scans the URL again on every
// c.req.query(name); its one-pass c.req.query() and then a null-prototype map filled by name were
// each ~4 % of a cached read on Node (issue 9 profiles). Other names are ignored, as before.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'

/** The first value of each known name, percent-decoded (`+` is a space) as the URL's searchParams give it. */
export interface ReadQuery {
  format: string | undefined
  version: string | undefined
  key: string | undefined
  prefix: string | undefined
  metadata: string | undefined
  role: string | undefined
}

export function queryOf(c: Context<AppEnv>): ReadQuery {
  let query = c.get('query')
  if (query === undefined) {
    query = parseQuery(c.req.url)
    c.set('query', query)
  }
  return query
}

const ESCAPED = /[%+]/

export function parseQuery(url: string): ReadQuery {
  const query: ReadQuery = { format: undefined, version: undefined, key: undefined, prefix: undefined, metadata: undefined, role: undefined }
  const start = url.indexOf('?')
  if (start === -1) return query
  const end = url.indexOf('#', start)
  const search = url.slice(start + 1, end === -1 ? undefined : end)
  if (ESCAPED.test(search)) {
    const params = new URL(url).searchParams
    for (const name of Object.keys(query) as (keyof ReadQuery)[]) query[name] = params.get(name) ?? undefined
    return query
  }
  // Nothing to decode (`?format=env`, what pods send): split by hand, the same pairs searchParams give.
  for (const pair of search.split('&')) {
    const equals = pair.indexOf('=')
    const value = equals === -1 ? '' : pair.slice(equals + 1)
    switch (equals === -1 ? pair : pair.slice(0, equals)) {
      case 'format': query.format ??= value; break
      case 'version': query.version ??= value; break
      case 'key': query.key ??= value; break
      case 'prefix': query.prefix ??= value; break
      case 'metadata': query.metadata ??= value; break
      case 'role': query.role ??= value; break
    }
  }
  return query
}

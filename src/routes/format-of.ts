// The format a read asked for (SPEC §2: `?format=`, else the Accept header), negotiated once per
// request: the route and the audit line both need it, and Accept is read only without `?format=`.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { negotiateFormat, type Format } from '../render/index.ts'
import { queryOf } from './query-of.ts'

/** Throws the 400 negotiateFormat throws for an unknown `?format=` (each time it is asked). */
export function formatOf(c: Context<AppEnv>): Format {
  let format = c.get('format')
  if (format === undefined) {
    const { format: asked } = queryOf(c)
    format = negotiateFormat(asked, asked === undefined ? c.req.header('Accept') : undefined)
    c.set('format', format)
  }
  return format
}

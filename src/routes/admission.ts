// What every /v1 request passes before its route, in order (SPEC §1, docs/audit.md): the
// failed-authentication limit of its client address, no compressed body, a verified token, the
// read limit of its ServiceAccount. One middleware, not four: each Hono layer is an async
// dispatch, and a cached read paid ~1 µs for the three extra ones (issue 9, A/B +3 % on Node).
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { AppError } from '../errors.ts'
import { checkFailedAuthentications, limitReads } from '../rate-limit/abuse-limits.ts'
import { authenticate } from './authenticate.ts'

/**
 * A compressed request body would be read as if it were not (Hono and the routes never
 * decompress), and decompressing one is a way to turn 64 KiB into gigabytes: refused (RFC 9110 §15.5.16).
 */
function refuseEncodedBodies(encoding: string | undefined): void {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new AppError(415, 'unsupported_encoding', 'Request bodies with a Content-Encoding are not accepted; send the body uncompressed.', {
      headers: { 'Accept-Encoding': 'identity' },
    })
  }
}

export const admit: MiddlewareHandler<AppEnv> = async (c, next) => {
  // Every 401 counts against the address: one thrown here, or one the route answers.
  const countFailure = checkFailedAuthentications(c)
  try {
    refuseEncodedBodies(c.req.header('Content-Encoding'))
    // (An await of a value that is not a promise still costs a turn of the microtask queue.)
    const authenticating = authenticate(c)
    if (authenticating) await authenticating
    const counting = limitReads(c)
    if (counting) await counting
  } catch (error) {
    if (countFailure && error instanceof AppError && error.status === 401) await countFailure()
    throw error
  }
  await next()
  if (countFailure && c.res.status === 401) await countFailure()
}

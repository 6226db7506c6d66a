// Step (1) of SPEC §1 as Hono middleware: Bearer token → verified Identity on the context.
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { invalidToken } from '../errors.ts'
import { MAX_TOKEN_BYTES } from '../identity/verify-service-account-token.ts'

// RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i
const MAX_AUTHORIZATION_BYTES = MAX_TOKEN_BYTES + 64

/** What follows `Bearer` and its spaces, when the header starts so (the token's syntax unchecked). */
function afterBearerScheme(header: string): string | undefined {
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  let start = 7
  while (header.charCodeAt(start) === 32) start++
  return header.slice(start)
}

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('Authorization')
  if (header === undefined) throw invalidToken('no Authorization header')
  if (header.length > MAX_AUTHORIZATION_BYTES) throw invalidToken('Authorization header too large')
  const { config, clusterKeys, now, verifiedTokens, verifySignature } = c.get('services')
  const deps = { clusters: config.clusters, keys: clusterKeys, now, verifySignature }
  // A token seen before is not verified again while it lasts and its key stands
  // (verified-token-memo.ts), nor matched against BEARER: it passed when first seen, and the match
  // of a ~1 KB token was ~3 % of a cached read on Node (issue 9 profile).
  const candidate = afterBearerScheme(header)
  const recalled = candidate === undefined ? undefined : verifiedTokens.recall(candidate, deps)
  // (An await of a value that is not a promise still costs a turn of the microtask queue.)
  const known = recalled instanceof Promise ? await recalled : recalled
  let token = candidate!
  if (known === undefined) {
    const match = BEARER.exec(header)
    if (!match) throw invalidToken('Authorization is not a Bearer token')
    token = match[1]!
  }
  c.set('identity', known ?? (await verifiedTokens.verify(token, deps)))
  c.set('serviceAccountToken', token)
  await next()
})

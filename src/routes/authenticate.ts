// Step (1) of SPEC §1 as Hono middleware: Bearer token → verified Identity on the context.
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { invalidToken } from '../errors.ts'
import { MAX_TOKEN_BYTES } from '../identity/verify-service-account-token.ts'

// RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i
const MAX_AUTHORIZATION_BYTES = MAX_TOKEN_BYTES + 64

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('Authorization')
  if (header === undefined) throw invalidToken('no Authorization header')
  if (header.length > MAX_AUTHORIZATION_BYTES) throw invalidToken('Authorization header too large')
  const match = BEARER.exec(header)
  if (!match) throw invalidToken('Authorization is not a Bearer token')
  const token = match[1]!
  const { config, clusterKeys, now, verifiedTokens, verifySignature } = c.get('services')
  // A token seen before is not verified again while it lasts and its key stands (verified-token-memo.ts).
  const identity = await verifiedTokens.verify(token, { clusters: config.clusters, keys: clusterKeys, now, verifySignature })
  c.set('identity', identity)
  c.set('serviceAccountToken', token)
  await next()
})

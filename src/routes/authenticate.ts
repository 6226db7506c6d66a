// Step (1) of SPEC §1: Bearer token → verified Identity on the context (run by routes/admission.ts).
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { invalidToken } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { MAX_TOKEN_BYTES, type VerifyDeps } from '../identity/verify-service-account-token.ts'

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

/**
 * Sets `identity` and `serviceAccountToken`, or throws the 401. Without a promise for a token
 * recalled at once (issue 9: a cached read then waits for nothing here).
 */
export function authenticate(c: Context<AppEnv>): void | Promise<void> {
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
  if (recalled instanceof Promise) return recalled.then((known) => identify(c, header, candidate, known, deps))
  return identify(c, header, candidate, recalled, deps)
}

/** With what the memo recalled (or not): the token checked and verified when it is new. */
function identify(c: Context<AppEnv>, header: string, candidate: string | undefined, known: Identity | undefined, deps: VerifyDeps): void | Promise<void> {
  if (known !== undefined) return setIdentity(c, known, candidate!)
  const match = BEARER.exec(header)
  if (!match) throw invalidToken('Authorization is not a Bearer token')
  const token = match[1]!
  return c.get('services').verifiedTokens.verify(token, deps).then((identity) => setIdentity(c, identity, token))
}

function setIdentity(c: Context<AppEnv>, identity: Identity, token: string): void {
  c.set('identity', identity)
  c.set('serviceAccountToken', token)
}

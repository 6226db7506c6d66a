// Turning the HTTP request into what the broker needs: the Vault path from the URL, the access
// the rules give, and the query parameters of SPEC §2. Shared by the secret, bundle and render routes.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { notePath, noteRole } from '../audit/audit-record.ts'
import { badRequest } from '../errors.ts'
import { resolveAccess, validateSecretPath, type Access } from '../rules.ts'
import type { SecretRequest } from '../secret-broker.ts'
import { vaultAuthFor } from '../vault/login.ts'
import { queryOf } from './query-of.ts'

/**
 * A path the URL parser keeps exactly as written: no `.` (dot segments, also as `%2e`), no `%`,
 * no `\\`, nothing it would percent-encode (space, quotes, `<>{}` and backtick, non-ASCII).
 */
const CANONICAL_PATH = /^\/[A-Za-z0-9/_~!$&'()*+,;=:@-]*$/

/**
 * `new URL(url).pathname`, cut from the string when the URL parser could not change it: the
 * parse was ~1 % of a cached read on Node (issue 9 profile). Anything else is parsed.
 */
export function pathnameOf(url: string): string {
  const schemeEnd = url.indexOf('://')
  const start = schemeEnd === -1 ? -1 : url.indexOf('/', schemeEnd + 3)
  if (start !== -1) {
    const query = url.indexOf('?', start)
    const hash = url.indexOf('#', start)
    const end = query === -1 ? hash : hash === -1 ? query : Math.min(query, hash)
    const pathname = url.slice(start, end === -1 ? undefined : end)
    if (CANONICAL_PATH.test(pathname)) return pathname
  }
  return new URL(url).pathname
}

/** The Vault path after `prefix` in the raw URL, percent-decoded once. */
export function secretPathFromUrl(url: string, prefix: string): string {
  const pathname = pathnameOf(url)
  // The router matched the decoded path: `/v1/%73ecrets/…` reaches this route too, and cutting
  // the raw path at prefix.length would then read another path than the one asked for.
  if (!pathname.startsWith(prefix) && pathname !== prefix.slice(0, -1)) {
    throw badRequest(`Spell the route ${prefix} without percent-escapes.`, 'invalid_path')
  }
  const rawPath = pathname.slice(prefix.length)
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    throw badRequest('The secret path is not valid percent-encoding.', 'invalid_path')
  }
  return validateSecretPath(path)
}

export function parseVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^[0-9]{1,9}$/.test(value)) throw badRequest('version must be a non-negative integer (KV v2).', 'invalid_version')
  return Number(value)
}

/** Rules (SPEC §7) for one path, then the broker request built from them. */
export function buildSecretRequest(
  c: Context<AppEnv>,
  path: string,
  options: { method: 'GET' | 'POST'; version?: number; refresh?: boolean },
): { access: Access; request: SecretRequest } {
  const { config } = c.get('services')
  const identity = c.get('identity')
  const requestedRole = queryOf(c).role ?? c.req.header('X-Vault-Role')
  notePath(c, path)
  const access = resolveAccess(config.rules, identity, path, { method: options.method, requestedRole })
  noteRole(c, access.role)
  const cluster = config.clusters.find((candidate) => candidate.name === identity.cluster)!
  return {
    access,
    request: {
      identity,
      jwt: c.get('serviceAccountToken'),
      role: access.role,
      authMount: vaultAuthFor(config, cluster).mount,
      path,
      version: options.version,
      kvTtlSeconds: access.rule.kvTtlSeconds ?? config.cache.kvTtlSeconds,
      refresh: options.refresh,
      waitUntil: waitUntilOf(c),
    },
  }
}

/**
 * Workers' `ctx.waitUntil`. Hono's `c.executionCtx` throws where the runtime has none (Node,
 * Deno: there a background task simply runs on), so it is asked only when a task needs it, not
 * on every request (an Error with its stack trace per request shows in the profile).
 */
const waitUntilOf = (c: Context<AppEnv>) => (task: Promise<unknown>) => {
  try {
    c.executionCtx.waitUntil(task)
  } catch {
    // No execution context: nothing to keep alive.
  }
}

/**
 * `Cache-Control: no-cache` from the client asks for a fresh read from Vault (RFC 9111 §5.2.1.4).
 * Not on a conditional request: fetch() adds `no-cache` to every request with If-None-Match
 * (Fetch standard, HTTP-network-or-cache fetch), so an app polling with its ETag would
 * otherwise hit Vault, and the refresh limit, on every poll.
 */
export const wantsRefresh = (c: Context<AppEnv>) =>
  c.req.header('If-None-Match') === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(c.req.header('Cache-Control') ?? '')

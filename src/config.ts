// BROKER_CONFIG (SPEC §7) validated with zod. This is the only file that reads raw bindings:
// adapters hand it their runtime's environment as a plain string map.
import { z } from 'zod'
import { AUDIT_SINK_HEADER_BINDING, auditSchema } from './audit/audit-config.ts'
import { AppError } from './errors.ts'
import { limitsSchema } from './rate-limit/limits-config.ts'
import { matchesGlob } from './rules.ts'

// Asymmetric JWS algorithms only: `none` and HMAC (HS*) cannot even be written in the config, since
// with HMAC the cluster's *public* key would be the secret (SPEC §3; also refused in src/identity).
const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const
// What kube-apiserver signs ServiceAccount tokens with (RSA or ECDSA service-account keys).
const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'ES384', 'ES512'] as const
const DEFAULT_MAX_TOKEN_AGE_SECONDS = 24 * 60 * 60

// RFC 7518 §6.2.2, §6.3.2, RFC 8037: members only a private key has. A verifier needs public keys;
// a private one in config is a leaked signing key, and an `oct` key would be an HMAC secret.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const jwkSchema = z
  .looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), kid: z.string().optional() })
  .refine((jwk) => PRIVATE_JWK_MEMBERS.every((member) => !(member in jwk)), 'must be a public key (no private members)')

// What wrangler accepts as a binding name (a JavaScript identifier).
const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const clusterSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'lower-case DNS label'),
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1),
  jwksUri: z.url().optional(),
  jwks: z.object({ keys: z.array(jwkSchema).min(1) }).optional(),
  algorithms: z.array(z.enum(SIGNING_ALGORITHMS)).min(1).default([...DEFAULT_ALGORITHMS]),
  allowLegacyTokens: z.boolean().default(false),
  maxTokenAgeSeconds: z.number().int().positive().default(DEFAULT_MAX_TOKEN_AGE_SECONDS),
  clockLeewaySeconds: z.number().int().min(0).max(60).default(30),
  vaultAuthMount: z.string().min(1).optional(),
  vaultAuthMethod: z.enum(['jwt', 'kubernetes']).optional(),
  /** Workers: the binding (VPC service, mTLS certificate, service) discovery and JWKS fetches go through (docs/production.md). */
  binding: z.string().regex(BINDING_NAME, 'a Worker binding name').optional(),
  /** Node and Deno: PEM file of the CA that signed the issuer's (or jwksUri's) certificate. */
  caCert: z.string().min(1).optional(),
  /** Names of the secrets holding a Cloudflare Access service token for the issuer (docs/production.md). */
  cfAccess: z.strictObject({ clientId: z.string().regex(BINDING_NAME, 'a secret name'), clientSecret: z.string().regex(BINDING_NAME, 'a secret name') }).optional(),
}).superRefine((cluster, ctx) => {
  // One key source per cluster (docs/identity.md): two would leave unclear which one is trusted.
  if (cluster.jwks && cluster.jwksUri) ctx.addIssue({ code: 'custom', path: ['jwksUri'], message: 'set jwks or jwksUri, not both' })
  // Without either, keys come from OIDC discovery under the issuer, which must then be a URL
  // (legacy-style issuers such as `kubernetes/serviceaccount` need jwks or jwksUri).
  if (!cluster.jwks && !cluster.jwksUri && !/^https?:\/\/[^/]/.test(cluster.issuer)) {
    ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'not an http(s) URL to discover keys from: set jwks or jwksUri' })
  }
})

const leaseRenewalSchema = z.strictObject({
  /** How often the renewal job runs (the Node/Deno timer; keep it equal to the Workers cron). */
  intervalSeconds: z.number().int().positive().max(3600).default(60),
  /** A lease not served for this long is no longer renewed: Vault lets it expire. */
  idleSeconds: z.number().int().positive().default(900),
})

// Vault's HTTP API lives under /v1 (developer.hashicorp.com/vault/api-docs): the broker appends
// `/v1/<path>` itself, so the address is what VAULT_ADDR holds, an origin with no path.
const vaultAddressSchema = z.string().superRefine((address, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message })
  let url: URL
  try {
    url = new URL(address)
  } catch {
    return fail('not a URL: write it with its scheme, like https://vault.example.com:8200')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail('must start with https:// (or http:// for a local dev server), like https://vault.example.com:8200')
  }
  if (/^\/v1\/?$/.test(url.pathname)) {
    return fail('drop the trailing /v1: the broker adds /v1/… to every Vault API path itself (as VAULT_ADDR has no /v1)')
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return fail('must be scheme, host and port only (no path, query or fragment)')
  if (url.username !== '' || url.password !== '') return fail('must not carry credentials')
})

const vaultSchema = z
  .strictObject({
    address: vaultAddressSchema,
    namespace: z.string().min(1).nullable().default(null),
    authMethod: z.enum(['jwt', 'kubernetes']).default('jwt'),
    /** Default: the method's own name (`jwt` or `kubernetes`), where `vault auth enable` mounts it. */
    authMount: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive().max(60_000).default(5000),
    leaseRenewal: leaseRenewalSchema.default({ intervalSeconds: 60, idleSeconds: 900 }),
    /** Workers: the binding (VPC service, mTLS certificate, service) every Vault request goes through (docs/production.md). */
    binding: z.string().regex(BINDING_NAME, 'a Worker binding name').optional(),
  })
  .transform((vault) => ({ ...vault, authMount: vault.authMount ?? vault.authMethod }))

const ruleSchema = z.strictObject({
  cluster: z.string().default('*'),
  namespace: z.string().default('*'),
  serviceAccount: z.string().default('*'),
  role: z.string().min(1),
  /** Other roles a caller may pick with `?role=` / `X-Vault-Role` (same placeholders). */
  roles: z.array(z.string().min(1)).default([]),
  paths: z.array(z.string().min(1)).min(1),
  /** Paths (globs) that accept POST, e.g. pki/issue/*: Vault creates something on each call. */
  issuingPaths: z.array(z.string().min(1)).default([]),
  kvTtlSeconds: z.number().int().positive().optional(),
})

const cacheSchema = z.strictObject({
  kvTtlSeconds: z.number().int().positive().default(60),
  maxStaleSeconds: z.number().int().min(0).default(3600),
})

// Strict objects: a misspelt field (or a `token` the broker would never use) is an error, not
// silently dropped.
export const configSchema = z
  .strictObject({
    clusters: z.array(clusterSchema).min(1),
    vault: vaultSchema,
    rules: z.array(ruleSchema).min(1, 'add at least one rule: with none, every request would be refused (403)'),
    cache: cacheSchema.default({ kvTtlSeconds: 60, maxStaleSeconds: 3600 }),
    // prefault: an absent section is parsed as {}, so its own defaults apply.
    audit: auditSchema.prefault({}),
    limits: limitsSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>()
    config.clusters.forEach((cluster, index) => {
      if (names.has(cluster.name)) ctx.addIssue({ code: 'custom', path: ['clusters', index, 'name'], message: 'duplicate cluster name' })
      names.add(cluster.name)
    })
    const issuers = new Set<string>()
    config.clusters.forEach((cluster, index) => {
      if (issuers.has(cluster.issuer)) ctx.addIssue({ code: 'custom', path: ['clusters', index, 'issuer'], message: 'duplicate issuer' })
      issuers.add(cluster.issuer)
    })
    // A rule no cluster can match would answer every request 403 at run time: refuse it at start.
    config.rules.forEach((rule, index) => {
      if (!config.clusters.some((cluster) => matchesGlob(rule.cluster, cluster.name))) {
        const configured = config.clusters.map((cluster) => cluster.name).join(', ')
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'cluster'], message: `matches no cluster: use one of clusters[].name (${configured}) or a glob such as *` })
      }
    })
  })

export type Config = z.infer<typeof configSchema>
export type ClusterConfig = Config['clusters'][number]
export type RuleConfig = Config['rules'][number]
export type VaultConfig = Config['vault']

/** The runtime bindings users set (wrangler vars/secrets, or the process environment). */
export interface Bindings {
  config: Config
  cacheEncryptionKey: string | undefined
  upstash: { url: string; token: string } | undefined
  /** AUDIT_SINK_HEADER_VALUE: the value of BROKER_CONFIG.audit.sink.header. */
  auditSinkHeader: string | undefined
}

export type RawBindings = Record<string, string | undefined>

/** Thrown at start-up; names every offending field, never a value (the config may hold secrets). */
export class ConfigError extends Error {
  readonly issues: string[]
  constructor(issues: string[]) {
    super(`Invalid configuration:\n  - ${issues.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.issues = issues
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list ([…])',
  object: 'an object ({…})',
}

function typeOf(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'a list'
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`
}

/**
 * One zod error map for every field, so fields added later get the same teaching messages: what
 * is wrong and what to write instead. It never quotes the input (the config may hold secrets);
 * only the allowed values and limits from the schema itself.
 */
function teachingMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required: add this field'
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, not ${typeOf(issue.input)}`
    case 'invalid_value':
      return `must be one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`
    case 'too_small': {
      const bound = Number(issue.minimum)
      if (issue.origin === 'array') return `needs at least ${bound} item${bound === 1 ? '' : 's'}`
      if (issue.origin === 'string') return bound === 1 ? 'must not be empty' : `needs at least ${bound} characters`
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${bound}`
    }
    case 'too_big': {
      const bound = Number(issue.maximum)
      if (issue.origin === 'array') return `takes at most ${bound} items`
      if (issue.origin === 'string') return `takes at most ${bound} characters`
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${bound}`
    }
    case 'invalid_format':
      return issue.format === 'url' ? 'must be a URL, like https://host.example.com/path' : `must be a valid ${issue.format}`
    case 'unrecognized_keys':
      return `unknown field ${issue.keys.join(', ')}`
    default:
      return undefined
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)'
    return `BROKER_CONFIG.${field}: ${issue.message}`
  })
}

export function parseConfig(json: string | undefined): Config {
  if (json === undefined || json.trim() === '') throw new ConfigError(['BROKER_CONFIG: not set'])
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new ConfigError(['BROKER_CONFIG: not valid JSON'])
  }
  const parsed = configSchema.safeParse(raw, { error: teachingMessage })
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error))
  return parsed.data
}

// AES-256 needs 32 bytes: accept them as base64 or hex so `openssl rand -base64 32` works.
const ENCRYPTION_KEY_PATTERN = /^(?:[A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43}|[0-9a-fA-F]{64})$/

export function loadBindings(env: RawBindings): Bindings {
  const issues: string[] = []
  let config: Config | undefined
  try {
    config = parseConfig(env.BROKER_CONFIG)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    issues.push(...error.issues)
  }
  const url = env.UPSTASH_REDIS_REST_URL || undefined
  const token = env.UPSTASH_REDIS_REST_TOKEN || undefined
  if ((url === undefined) !== (token === undefined)) {
    issues.push('UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN: set both or neither')
  }
  const cacheEncryptionKey = env.CACHE_ENCRYPTION_KEY || undefined
  if (cacheEncryptionKey !== undefined && !ENCRYPTION_KEY_PATTERN.test(cacheEncryptionKey)) {
    issues.push('CACHE_ENCRYPTION_KEY: must be 32 bytes as base64 (openssl rand -base64 32) or 64 hex digits')
  }
  if (url !== undefined && cacheEncryptionKey === undefined) {
    issues.push('CACHE_ENCRYPTION_KEY: required when a Redis cache (UPSTASH_REDIS_REST_URL) is configured')
  }
  if (issues.length > 0 || config === undefined) throw new ConfigError(issues)
  return { config, cacheEncryptionKey, upstash: url && token ? { url, token } : undefined, auditSinkHeader: env[AUDIT_SINK_HEADER_BINDING] || undefined }
}

/** Thrown from request handling when start-up failed, so the wire says 503, not 500. */
export const misconfigured = () =>
  new AppError(503, 'misconfigured', 'The broker is not configured; see its log.', { headers: { 'Retry-After': '30' } })

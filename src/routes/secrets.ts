// GET /v1/secrets/{path}: one Vault path, rendered (SPEC §2). POST /v1/secrets/{path}: only
// for paths the rules mark as issuing (pki/issue/*): the JSON body goes to Vault, and the answer
// is never cached, since every call issues something new.
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { noteRead } from '../audit/audit-record.ts'
import { badRequest } from '../errors.ts'
import { renderSecret, type Format } from '../render/index.ts'
import { normalizeKeySelection, selectKeys } from '../render/select-keys.ts'
import type { RenderedResponse, SecretResult } from '../secret-broker.ts'
import { readSecret, type SecretRead } from '../vault/read-secret.ts'
import { formatOf } from './format-of.ts'
import { queryOf } from './query-of.ts'
import { readJson } from './read-body.ts'
import { answer, ifNoneMatchMatches, notModified } from './answer.ts'
import { refreshAfterHeader } from './refresh-after.ts'
import { buildSecretRequest, parseVersion, secretPathFromUrl, wantsRefresh } from './secret-request.ts'

export const SECRETS_PREFIX = '/v1/secrets/'

/** What an issuing path takes: Vault's own parameters, e.g. `{"common_name": "…", "ttl": "1h"}`. */
const issueBodySchema = z.record(z.string(), z.unknown())

export const secretRoutes = new Hono<AppEnv>().get('/*', async (c) => {
  const query = queryOf(c)
  const format = formatOf(c)
  const path = secretPathFromUrl(c.req.url, SECRETS_PREFIX)
  const version = parseVersion(query.version)
  const { request } = buildSecretRequest(c, path, { method: 'GET', version, refresh: wantsRefresh(c) })
  // (An await of a value that is not a promise still costs a turn of the microtask queue: a
  // cached read has neither to wait for.)
  const secret = c.get('services').broker.getSecret(request)
  const result = secret instanceof Promise ? await secret : secret
  noteRead(c, path, result)
  const render = renderOnce(c, result, format)
  const rendered = render instanceof Promise ? await render : render
  c.get('services').metrics?.count('vault_edge_secret_reads_total', { cache: result.cache })
  // One plain record, one Response (answer.ts).
  const headers: Record<string, string> = { 'X-Cache': result.cache }
  const secretVersion = versionHeader(result.read)
  if (secretVersion !== undefined) headers['X-Vault-Secret-Version'] = secretVersion
  const refreshAfter = refreshAfterHeader(c, [result])
  if (refreshAfter !== undefined) headers['X-Refresh-After'] = refreshAfter
  if (result.leaseExpiresAtMs !== undefined) {
    headers['X-Vault-Lease-Expires'] = new Date(result.leaseExpiresAtMs).toISOString()
    headers['X-Vault-Lease-Duration'] = String(result.read.secret.lease_duration)
  }
  headers['ETag'] = rendered.etag
  if (ifNoneMatchMatches(c.req.header('If-None-Match'), rendered.etag)) return notModified(c, headers)
  headers['Content-Type'] = rendered.contentType
  return answer(c, rendered.body, 200, headers)
}).post('/*', async (c) => {
  const format = formatOf(c)
  const path = secretPathFromUrl(c.req.url, SECRETS_PREFIX)
  // Rules first (403 before reading a body for a path that is not issuing).
  const { request } = buildSecretRequest(c, path, { method: 'POST' })
  const body = await readJson(c, issueBodySchema)
  const { tokens, vault } = c.get('services')
  const read = await tokens.withToken(request, (token) => readSecret(vault, { token: token.token, path, method: 'POST', body }))
  noteRead(c, path, { cache: 'miss', read })
  const rendered = renderRead(c, read, format)
  const secretVersion = versionHeader(read)
  if (secretVersion !== undefined) c.header('X-Vault-Secret-Version', secretVersion)
  c.header('X-Cache', 'miss')
  if (read.secret.lease_id && read.secret.lease_duration > 0) {
    c.header('X-Vault-Lease-Expires', new Date(c.get('services').now() + read.secret.lease_duration * 1000).toISOString())
    c.header('X-Vault-Lease-Duration', String(read.secret.lease_duration))
  }
  c.header('Content-Type', rendered.contentType)
  return c.body(rendered.body as string)
})

/** Responses kept per entry: formats × key selections a Deployment actually asks for. */
const MAX_RENDERS_PER_ENTRY = 8

/**
 * The response for this entry, format and key selection, rendered and fingerprinted once per
 * entry (issue 9): a hit costs neither a render nor an HMAC. The entry is the identity's own
 * (secret-broker.ts), so its renders are too.
 */
function renderOnce(c: Context<AppEnv>, result: SecretResult, format: Format): RenderedResponse | Promise<RenderedResponse> {
  const query = queryOf(c)
  const renderKey = JSON.stringify([format, query.key, query.prefix, query.metadata])
  return result.renders.get(renderKey) ?? render(c, result, format, renderKey)
}

async function render(c: Context<AppEnv>, result: SecretResult, format: Format, renderKey: string): Promise<RenderedResponse> {
  const rendered = renderRead(c, result.read, format)
  // Kept as bytes: encoded once here, a hit's body goes to the socket without a UTF-8 pass per
  // request (issue 9 profile: writeUtf8String was ~13% of a hit on Node). Responses copy it.
  const body = encoder.encode(rendered.body as string)
  const digest = await c.get('services').cache.fingerprint(body)
  const response = { body, contentType: rendered.contentType, etag: `"${toHex(digest)}"` }
  if (result.renders.size < MAX_RENDERS_PER_ENTRY) result.renders.set(renderKey, response)
  return response
}

const encoder = new TextEncoder()
const toHex = (buffer: ArrayBuffer) => {
  let hex = ''
  for (const byte of new Uint8Array(buffer)) hex += (byte < 16 ? '0' : '') + byte.toString(16)
  return hex
}

/** KV v2 reads carry the version read (`X-Vault-Secret-Version`). */
function versionHeader(read: SecretRead): string | undefined {
  const version = read.metadata?.version
  return typeof version === 'number' ? String(version) : undefined
}

/**
 * `?metadata=true` (json and yaml only) answers `{"data": {…}, "metadata": {…}}`, KV v2's
 * version and timestamps next to the map; KV v2 reads also carry `X-Vault-Secret-Version`.
 */
function renderRead(c: Context<AppEnv>, read: SecretRead, format: Format) {
  const query = queryOf(c)
  if (query.metadata === 'true') {
    if (format !== 'json' && format !== 'yaml') throw badRequest('metadata=true needs format=json or format=yaml.', 'bad_request')
    const data = selectKeys(read.values, normalizeKeySelection(query.key))
    return renderSecret({ data, metadata: read.metadata ?? null }, { format })
  }
  return renderSecret(read.values, { format, key: query.key, prefix: query.prefix, metadata: read.metadata })
}

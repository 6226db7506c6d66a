// GET /v1/secrets/{path}: one Vault path, rendered (SPEC §2).
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { negotiateFormat, renderSecret } from '../render/index.ts'
import { buildSecretRequest, parseVersion, secretPathFromUrl, wantsRefresh } from './secret-request.ts'

export const SECRETS_PREFIX = '/v1/secrets/'

const splitKeys = (value: string | undefined) => (value === undefined ? undefined : value.split(',').filter((key) => key !== ''))

export const secretRoutes = new Hono<AppEnv>().get('/*', async (c) => {
  const format = negotiateFormat(c.req.query('format'), c.req.header('Accept'))
  const path = secretPathFromUrl(c.req.url, SECRETS_PREFIX)
  const version = parseVersion(c.req.query('version'))
  const { request } = buildSecretRequest(c, path, { method: 'GET', version, refresh: wantsRefresh(c) })
  const result = await c.get('services').broker.getSecret(request)
  const rendered = renderSecret(result.read.values, {
    format,
    key: splitKeys(c.req.query('key')),
    prefix: c.req.query('prefix'),
    metadata: result.read.metadata,
  })
  c.header('X-Cache', result.cache)
  c.get('services').metrics?.count('vault_edge_secret_reads_total', { cache: result.cache })
  if (result.leaseExpiresAtMs !== undefined) {
    c.header('X-Vault-Lease-Expires', new Date(result.leaseExpiresAtMs).toISOString())
    c.header('X-Vault-Lease-Duration', String(result.read.secret.lease_duration))
  }
  c.header('Content-Type', rendered.contentType)
  return c.body(rendered.body as string)
})

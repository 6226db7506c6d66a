// POST /v1/render: a Vault Agent template (SPEC §6), so an `agent-inject-template-*`
// annotation moves over unchanged. Every `secret "path"` is checked against the rules and
// read with the caller's own Vault token, exactly as a GET of that path would be.
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { noteRead } from '../audit/audit-record.ts'
import { badRequest } from '../errors.ts'
import { validateSecretPath } from '../rules.ts'
import { listSecretPaths, parseTemplate, renderTemplate, type VaultSecretResponse } from '../render/template/index.ts'
import { readJson, readText } from './read-body.ts'
import { setRefreshAfter } from './refresh-after.ts'
import { buildSecretRequest, wantsRefresh } from './secret-request.ts'

const MAX_TEMPLATE_SECRETS = 32
const renderSchema = z.object({ template: z.string().min(1) })

export const renderRoutes = new Hono<AppEnv>().post('/', async (c) => {
  // JSON `{"template": "..."}`, or the template itself as text/plain (curl --data-binary @file).
  const isJson = (c.req.header('Content-Type') ?? '').toLowerCase().startsWith('application/json')
  const source = isJson ? (await readJson(c, renderSchema)).template : await readText(c)
  if (source.trim() === '') throw badRequest('The template is empty.', 'invalid_body')
  const template = parseTemplate(source)
  const paths = listSecretPaths(template)
  if (paths.length > MAX_TEMPLATE_SECRETS) throw badRequest(`A template may read at most ${MAX_TEMPLATE_SECRETS} secrets.`, 'invalid_body')

  // Rules first, for every path, so a denied path costs no Vault call for the others.
  const requests = paths.map((path) => buildSecretRequest(c, validateSecretPath(path), { method: 'GET', refresh: wantsRefresh(c) }).request)
  const { broker } = c.get('services')
  const results = await Promise.all(requests.map((request) => broker.getSecret(request)))
  results.forEach((result, index) => noteRead(c, paths[index]!, result))
  const secrets = new Map<string, VaultSecretResponse>(paths.map((path, index) => [path, results[index]!.read.secret]))

  setRefreshAfter(c, results)
  const leaseEnds = results.map((result) => result.leaseExpiresAtMs).filter((end): end is number => end !== undefined)
  if (leaseEnds.length > 0) c.header('X-Vault-Lease-Expires', new Date(Math.min(...leaseEnds)).toISOString())
  c.header('X-Cache', results.some((result) => result.cache === 'stale') ? 'stale' : results.every((result) => result.cache === 'hit') ? 'hit' : 'miss')
  c.header('Content-Type', 'text/plain; charset=utf-8')
  return c.body(renderTemplate(template, secrets))
})

// POST /v1/render: a Vault Agent template (SPEC §6), so an `agent-inject-template-*`
// annotation moves over unchanged. Every `secret "path"` is checked against the rules and
// read with the caller's own Vault token, exactly as a GET of that path would be.
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { noteRead } from '../audit/audit-record.ts'
import { badRequest } from '../errors.ts'
import { validateSecretPath } from '../rules.ts'
import { listPkiRequests, listSecretPaths, parseTemplate, renderTemplate, type VaultSecretResponse } from '../render/template/index.ts'
import { issueTemplateCertificates, planTemplateCertificates } from './template-certificates.ts'
import { mayNeedKvV2Data, shimKvV2Path, type MountInfo } from '../render/template/kv-v2-path.ts'
import type { Context } from 'hono'
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
  const pkiRequests = listPkiRequests(template)
  if (paths.length + pkiRequests.length > MAX_TEMPLATE_SECRETS) throw badRequest(`A template may read at most ${MAX_TEMPLATE_SECRETS} secrets and certificates.`, 'invalid_body')

  const { broker } = c.get('services')
  // KV v2 paths written without data/ are rewritten as Vault Agent does (kv-v2-path.ts).
  const apiPaths = await Promise.all(paths.map((path) => agentApiPath(c, path)))
  // Rules first, for every path, so a denied path costs no Vault call for the others.
  const requests = apiPaths.map((path) => buildSecretRequest(c, validateSecretPath(path), { method: 'GET', refresh: wantsRefresh(c) }).request)
  const plannedCertificates = planTemplateCertificates(c, pkiRequests)
  const [results, certificates] = await Promise.all([Promise.all(requests.map((request) => broker.getSecret(request))), issueTemplateCertificates(c, plannedCertificates)])
  results.forEach((result, index) => noteRead(c, apiPaths[index]!, result))
  const secrets = new Map<string, VaultSecretResponse>(paths.map((path, index) => [path, results[index]!.read.secret]))

  setRefreshAfter(c, results)
  const leaseEnds = results.map((result) => result.leaseExpiresAtMs).filter((end): end is number => end !== undefined)
  if (leaseEnds.length > 0) c.header('X-Vault-Lease-Expires', new Date(Math.min(...leaseEnds)).toISOString())
  c.header('X-Cache', results.some((result) => result.cache === 'stale') ? 'stale' : results.every((result) => result.cache === 'hit') ? 'hit' : 'miss')
  c.header('Content-Type', 'text/plain; charset=utf-8')
  return c.body(renderTemplate(template, secrets, certificates))
})

/**
 * Asks Vault for the mount of `path` (sys/internal/ui/mounts, readable with any token that may
 * read under the mount; cached like any read) with the role the rules give the path as written,
 * or with `data/` inserted after its first segment. A failed lookup keeps the path, as the Agent does.
 */
async function agentApiPath(c: Context<AppEnv>, path: string): Promise<string> {
  if (!mayNeedKvV2Data(path)) return path
  const [first, ...rest] = path.split('/')
  const candidates = [`${first}/data/${rest.join('/')}`, path]
  let request
  for (const candidate of candidates) {
    try {
      request = buildSecretRequest(c, validateSecretPath(candidate), { method: 'GET' }).request
      break
    } catch {
      // Not allowed as this spelling; the read below reports the rules' answer for the real path.
    }
  }
  if (!request) return path
  try {
    const result = await c.get('services').broker.getSecret({ ...request, path: `sys/internal/ui/mounts/${path}` })
    return shimKvV2Path(path, result.read.secret.data as MountInfo | undefined)
  } catch {
    return path
  }
}

// POST /v1/bundle: several paths in one response, each with a key mapping or a prefix — the
// CSI `objects` / ESO `data` use case (SPEC §2). Every path is checked against the rules.
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { noteRead } from '../audit/audit-record.ts'
import { badRequest } from '../errors.ts'
import { validateSecretPath } from '../rules.ts'
import { renderSecret } from '../render/index.ts'
import { formatOf } from './format-of.ts'
import { readJson } from './read-body.ts'
import { setRefreshAfter } from './refresh-after.ts'
import { buildSecretRequest, wantsRefresh } from './secret-request.ts'

const MAX_BUNDLE_SECRETS = 32

const bundleSchema = z.object({
  secrets: z
    .array(
      z.object({
        path: z.string().min(1),
        /** Output name → key in the secret; without it every key is taken. */
        keys: z.record(z.string().min(1), z.string().min(1)).optional(),
        prefix: z.string().optional(),
        version: z.number().int().min(0).optional(),
      }),
    )
    .min(1)
    .max(MAX_BUNDLE_SECRETS),
})

export const bundleRoutes = new Hono<AppEnv>().post('/', async (c) => {
  const format = formatOf(c)
  const { secrets } = await readJson(c, bundleSchema)
  const requests = secrets.map((entry) => ({
    entry,
    ...buildSecretRequest(c, validateSecretPath(entry.path), { method: 'GET', version: entry.version, refresh: wantsRefresh(c) }),
  }))
  const { broker } = c.get('services')
  const results = await Promise.all(requests.map(({ request }) => broker.getSecret(request)))
  results.forEach((result, index) => noteRead(c, requests[index]!.request.path, result))

  // Null prototype: a secret key named __proto__ must be stored, not swallowed.
  const merged: Record<string, unknown> = Object.create(null)
  const origin = new Map<string, string>()
  const put = (name: string, value: unknown, from: string) => {
    const earlier = origin.get(name)
    if (earlier !== undefined) throw badRequest(`The output name ${name} comes from both ${earlier} and ${from}.`, 'bundle_collision')
    origin.set(name, from)
    merged[name] = value
  }
  results.forEach((result, index) => {
    const { entry } = requests[index]!
    const values = result.read.values
    if (entry.keys) {
      for (const [name, key] of Object.entries(entry.keys)) {
        if (!Object.hasOwn(values, key)) throw badRequest(`The secret at ${entry.path} has no key ${key}.`, 'missing_key')
        put(name, values[key], `${entry.path}#${key}`)
      }
    } else {
      for (const [key, value] of Object.entries(values)) put(`${entry.prefix ?? ''}${key}`, value, `${entry.path}#${key}`)
    }
  })
  const cacheStates = new Set(results.map((result) => result.cache))
  c.header('X-Cache', cacheStates.size === 1 ? [...cacheStates][0]! : cacheStates.has('stale') ? 'stale' : 'miss')
  setRefreshAfter(c, results)
  const leaseEnds = results.map((result) => result.leaseExpiresAtMs).filter((end): end is number => end !== undefined)
  if (leaseEnds.length > 0) c.header('X-Vault-Lease-Expires', new Date(Math.min(...leaseEnds)).toISOString())
  const rendered = renderSecret(merged, { format })
  c.header('Content-Type', rendered.contentType)
  return c.body(rendered.body as string)
})

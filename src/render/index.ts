// Rendering of one secret's key/value map (SPEC §6). Pure: no I/O, and nothing from vault/.
import { AppError, badRequest } from '../errors.ts'
import { describeKeys } from './describe-key.ts'
import { mapEnvNames } from './env-names.ts'
import type { EnvVariable } from './env-variable.ts'
import { formatDotenv } from './format-dotenv.ts'
import { formatEnv } from './format-env.ts'
import { formatJson } from './format-json.ts'
import { formatRaw } from './format-raw.ts'
import { formatYaml } from './format-yaml.ts'
import type { Format } from './negotiate-format.ts'
import { normalizeKeySelection, selectKeys } from './select-keys.ts'
import { stringifyValue } from './stringify-value.ts'

export { DEFAULT_FORMAT, FORMATS, negotiateFormat } from './negotiate-format.ts'
export type { Format } from './negotiate-format.ts'
export { toEnvName } from './env-names.ts'

export interface RenderOptions {
  format: Format
  /** Keys to include, in this order; a string is comma-separated as in `?key=`. */
  key?: string | readonly string[]
  /** Put in front of every env/dotenv name before mapping (`?prefix=app_` → `APP_PASSWORD`). */
  prefix?: string
  /** KV v2 metadata. Accepted for the route's convenience; bodies carry only the key/value map (SPEC §6). */
  metadata?: unknown
}

export interface Rendered {
  body: string | Uint8Array
  contentType: string
}

export const CONTENT_TYPES: Record<Format, string> = {
  env: 'text/plain; charset=utf-8',
  dotenv: 'text/plain; charset=utf-8',
  json: 'application/json',
  yaml: 'application/yaml',
  raw: 'application/octet-stream',
}

export function renderSecret(data: Record<string, unknown>, options: RenderOptions): Rendered {
  const keys = normalizeKeySelection(options.key)
  const selected = selectKeys(data, keys)
  return { body: renderBody(selected, options), contentType: CONTENT_TYPES[options.format] }
}

function renderBody(data: Record<string, unknown>, options: RenderOptions): string {
  switch (options.format) {
    case 'json':
      return formatJson(data)
    case 'yaml':
      return formatYaml(data)
    case 'raw':
      return formatRaw(data[onlyKey(data)])
    case 'env':
      return formatEnv(toEnvVariables(data, options.prefix))
    case 'dotenv':
      return formatDotenv(toEnvVariables(data, options.prefix))
  }
}

function onlyKey(data: Record<string, unknown>): string {
  const keys = Object.keys(data)
  if (keys.length === 1) return keys[0]!
  if (keys.length === 0) throw new AppError(404, 'not_found', 'The secret has no keys.')
  throw badRequest(`format=raw returns one value: choose it with ?key= (one of ${describeKeys(keys)}).`, 'key_required')
}

function toEnvVariables(data: Record<string, unknown>, prefix: string | undefined): EnvVariable[] {
  const names = mapEnvNames(Object.keys(data), prefix)
  return [...names].map(([key, name]) => ({ key, name, value: stringifyValue(data[key]) }))
}

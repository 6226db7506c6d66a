// `?key=a,b`: which keys of the secret a response carries, in the order asked (SPEC §2).
import { AppError } from '../errors.ts'
import { describeKeys } from './describe-key.ts'

/** A string is split on commas, as in the query; an empty selection means every key. */
export function normalizeKeySelection(key: string | readonly string[] | undefined): string[] {
  const keys = typeof key === 'string' ? key.split(',') : [...(key ?? [])]
  return [...new Set(keys.filter((k) => k !== ''))]
}

export function selectKeys(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  if (keys.length === 0) return data
  const missing = keys.filter((key) => !Object.hasOwn(data, key))
  if (missing.length > 0) {
    throw new AppError(404, 'not_found', `The secret has no key ${describeKeys(missing)}.`)
  }
  return Object.fromEntries(keys.map((key) => [key, data[key]]))
}

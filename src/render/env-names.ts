// Vault key → environment variable name (docs/rendering.md, "Environment variable names").
// POSIX names are [A-Za-z_][A-Za-z0-9_]* (POSIX.1-2017 XBD 3.235, XCU 2.5.3); we upper-case
// as well, because that is what users expect of environment variables.
import { badRequest } from '../errors.ts'
import { describeKey, describeKeys } from './describe-key.ts'

/**
 * `prefix + key`, upper-cased, every character (Unicode code point) outside [A-Za-z0-9_]
 * replaced by one `_`, and `_` put in front when the result starts with a digit.
 * Returns '' when there is nothing to map (empty key and prefix).
 */
export function toEnvName(key: string, prefix = ''): string {
  const mapped = `${prefix}${key}`.replace(/[^A-Za-z0-9_]/gu, '_').toUpperCase()
  return /^[0-9]/.test(mapped) ? `_${mapped}` : mapped
}

/**
 * Maps every key, in order. Two keys that map to one name, or a key that maps to nothing,
 * are a 400 naming the keys: a variable is never silently dropped or overwritten.
 */
export function mapEnvNames(keys: readonly string[], prefix = ''): Map<string, string> {
  const names = new Map<string, string>()
  const keysByName = new Map<string, string[]>()
  for (const key of keys) {
    const name = toEnvName(key, prefix)
    if (name === '') {
      throw badRequest(`The key ${describeKey(key)} gives an empty environment variable name; set ?prefix= or select other keys with ?key=.`, 'env_name_invalid')
    }
    names.set(key, name)
    keysByName.set(name, [...(keysByName.get(name) ?? []), key])
  }
  const collisions = [...keysByName].filter(([, sameName]) => sameName.length > 1)
  if (collisions.length > 0) {
    const details = collisions.map(([name, sameName]) => `${describeKeys(sameName)} ${sameName.length === 2 ? 'both' : 'all'} map to ${name}`).join('; ')
    throw badRequest(`Several keys map to one environment variable name: ${details}. Rename them in Vault or select keys with ?key=.`, 'env_name_collision')
  }
  return names
}

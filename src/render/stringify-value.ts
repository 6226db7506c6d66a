// How a Vault value that is not a string becomes text in the env, dotenv and raw formats
// (docs/rendering.md, "Values that are not strings"). json and yaml keep the structure.

/**
 * Strings as they are; numbers and booleans as their JSON text (`42`, `true`); objects and
 * arrays as compact JSON; null as the empty string.
 */
export function stringifyValue(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  return JSON.stringify(value)
}

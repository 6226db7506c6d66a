// Key names go into error details: quoted so control characters and spaces are visible,
// and cut short so a hostile key cannot blow up a problem+json body.

const MAX_KEY_CHARS_IN_MESSAGES = 80

export function describeKey(key: string): string {
  const shown = key.length > MAX_KEY_CHARS_IN_MESSAGES ? `${key.slice(0, MAX_KEY_CHARS_IN_MESSAGES)}…` : key
  return JSON.stringify(shown)
}

export function describeKeys(keys: readonly string[]): string {
  return keys.map(describeKey).join(', ')
}

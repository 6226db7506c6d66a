// format=raw: one key's value and nothing else (SPEC §6), for `curl … > /run/secrets/tls.key`.
import { stringifyValue } from './stringify-value.ts'

export function formatRaw(value: unknown): string {
  return stringifyValue(value)
}

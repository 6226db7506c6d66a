// The Vault path of a `secret "…"` call: consul-template trims spaces and slashes
// (dependency/vault_read.go, NewVaultReadQuery); vault-edge also refuses what could step
// outside the path the rules check.
import { TemplateRuntimeError } from './template-errors.ts'

export function normalizeSecretPath(raw: string): string {
  const path = trimSlashes(raw.trim())
  if (path === '') throw new TemplateRuntimeError('the secret path is empty')
  if (path.includes('?')) throw new TemplateRuntimeError('query parameters in a secret path (such as ?version=) are not supported')
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new TemplateRuntimeError('a secret path may not contain empty, "." or ".." segments')
  }
  return path
}

/**
 * Leading and trailing slashes off, in linear time: the regex /^\/+|\/+$/g backtracks at every
 * slash of a long inner run (quadratic: 60 000 slashes took 3 s of a request's CPU).
 */
function trimSlashes(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && text[start] === '/') start++
  while (end > start && text[end - 1] === '/') end--
  return text.slice(start, end)
}

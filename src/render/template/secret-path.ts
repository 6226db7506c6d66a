// The Vault path of a `secret "…"` call: consul-template trims spaces and slashes
// (dependency/vault_read.go, NewVaultReadQuery); vault-edge also refuses what could step
// outside the path the rules check.
import { TemplateRuntimeError } from './template-errors.ts'

export function normalizeSecretPath(raw: string): string {
  const path = raw.trim().replace(/^\/+|\/+$/g, '')
  if (path === '') throw new TemplateRuntimeError('the secret path is empty')
  if (path.includes('?')) throw new TemplateRuntimeError('query parameters in a secret path (such as ?version=) are not supported')
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new TemplateRuntimeError('a secret path may not contain empty, "." or ".." segments')
  }
  return path
}

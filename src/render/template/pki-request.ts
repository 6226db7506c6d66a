// `pkiCert "pki/issue/web" "common_name=a.example.com" "ttl=24h"`: consul-template writes the
// `key=value` arguments (split at the first `=`, trimmed) to the issuing path
// (template/funcs.go, pkiCertFunc). The route issues the certificate before rendering; a request
// is identified by its path and parameters, whatever their order.
import { normalizeSecretPath } from './secret-path.ts'
import { TemplateRuntimeError } from './template-errors.ts'

export interface PkiRequest {
  /** Identifies the request in the certificates handed to renderTemplate. */
  key: string
  /** The issuing path (rules: a rule's issuingPaths). */
  path: string
  /** The body Vault receives. */
  params: Record<string, string>
}

export function parsePkiRequest(args: readonly string[]): PkiRequest {
  const [rawPath, ...rest] = args
  const path = normalizeSecretPath(rawPath ?? '')
  const params: Record<string, string> = {}
  for (const pair of rest) {
    if (pair === '') continue
    const at = pair.indexOf('=')
    if (at < 0) throw new TemplateRuntimeError(`not k=v pair ${JSON.stringify(pair)}`)
    const name = pair.slice(0, at).trim()
    if (name === '__proto__') throw new TemplateRuntimeError('a pkiCert parameter may not be named __proto__')
    params[name] = pair.slice(at + 1).trim()
  }
  return { key: keyOf(path, params), path, params }
}

const keyOf = (path: string, params: Record<string, string>) => JSON.stringify([path, Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))])

export const pkiRequestKey = (args: readonly string[]): string => parsePkiRequest(args).key

// Where and how the Node and Deno entries listen: PORT, HOST, and HTTPS from TLS_CERT_FILE and
// TLS_KEY_FILE (PEM; cert-manager's tls.crt and tls.key). Tokens and secrets cross this
// connection, so plain HTTP is refused on any address but loopback unless VAULT_EDGE_ALLOW_HTTP=1
// says something in front (a mesh, a proxy) encrypts it.
import { ConfigError, type RawBindings } from '../config.ts'
import { parsePort } from './process-bindings.ts'

/** cert-manager renews well before expiry; a new certificate is served within this interval. */
export const DEFAULT_TLS_RELOAD_INTERVAL_SECONDS = 10
const MAX_TLS_RELOAD_INTERVAL_SECONDS = 60

export interface ServeSettings {
  port: number
  hostname: string
  tls?: { certFile: string; keyFile: string; reloadIntervalMs: number }
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|\[::1\]|localhost)$/

export function readServeSettings(env: RawBindings): ServeSettings {
  const port = parsePort(env.PORT)
  const issues: string[] = []
  const hostname = env.HOST || '127.0.0.1'
  const certFile = env.TLS_CERT_FILE || undefined
  const keyFile = env.TLS_KEY_FILE || undefined
  const interval = Number(env.TLS_RELOAD_INTERVAL_SECONDS || DEFAULT_TLS_RELOAD_INTERVAL_SECONDS)
  if (!Number.isInteger(interval) || interval < 1 || interval > MAX_TLS_RELOAD_INTERVAL_SECONDS) {
    issues.push(`TLS_RELOAD_INTERVAL_SECONDS: a whole number of seconds from 1 to ${MAX_TLS_RELOAD_INTERVAL_SECONDS}`)
  }
  if ((certFile === undefined) !== (keyFile === undefined)) issues.push('TLS_CERT_FILE and TLS_KEY_FILE: set both or neither')
  else if (certFile === undefined && !LOOPBACK.test(hostname) && env.VAULT_EDGE_ALLOW_HTTP !== '1') {
    issues.push(
      `HOST=${hostname} without TLS_CERT_FILE and TLS_KEY_FILE would carry tokens and secrets in clear: set both, ` +
        'or VAULT_EDGE_ALLOW_HTTP=1 when a mesh or proxy in front encrypts the connection',
    )
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return { port, hostname, tls: certFile && keyFile ? { certFile, keyFile, reloadIntervalMs: interval * 1000 } : undefined }
}

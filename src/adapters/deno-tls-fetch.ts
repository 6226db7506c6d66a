// Deno: a fetch with its own CA and client certificate through Deno.createHttpClient
// (https://docs.deno.com/api/deno/~/Deno.createHttpClient). Its caCerts are trusted in
// addition to the default roots.
import { ConfigError } from '../config.ts'
import type { TlsFiles } from '../transport/transport-settings.ts'
import { readTlsFiles } from './tls-files.ts'

declare const Deno: {
  readTextFileSync(path: string): string
  createHttpClient(options: { caCerts?: string[]; cert?: string; key?: string }): unknown
}

export function createDenoTlsFetch(files: TlsFiles): typeof fetch {
  const { ca, cert, key, serverName } = readTlsFiles(files, (path) => Deno.readTextFileSync(path))
  if (serverName !== undefined) {
    // Deno's HTTP client checks the certificate against the URL's host and offers no override.
    throw new ConfigError(['VAULT_TLS_SERVER_NAME: not supported on Deno; use a Vault address whose host name the certificate carries (DNS or /etc/hosts), or the Node entry point'])
  }
  let client: unknown
  try {
    client = Deno.createHttpClient({ ...(ca === undefined ? {} : { caCerts: [ca] }), ...(cert === undefined ? {} : { cert, key }) })
  } catch {
    const settings = [files.caCert, files.clientCert, files.clientKey].filter((file) => file !== undefined).map((file) => file.setting)
    throw new ConfigError([`${settings.join(', ')}: not a usable CA, certificate and matching key`])
  }
  return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, client } as RequestInit)) as typeof fetch
}

// Deno: a fetch with its own CA and client certificate through Deno.createHttpClient
// (https://docs.deno.com/api/deno/~/Deno.createHttpClient). Its caCerts are trusted in
// addition to the default roots.
import { ConfigError } from '../config.ts'
import { classifyTlsFailure } from '../transport/tls-failure.ts'
import type { TlsFiles } from '../transport/transport-settings.ts'
import { readTlsFiles } from './tls-files.ts'

declare const Deno: {
  readTextFileSync(path: string): string
  createHttpClient(options: { caCerts?: string[]; cert?: string; key?: string }): unknown
  connectTls(options: { hostname: string; port: number; caCerts?: string[]; cert?: string; key?: string }): Promise<DenoTlsConn>
}

interface DenoTlsConn {
  handshake(): Promise<unknown>
  read(buffer: Uint8Array): Promise<number | null>
  close(): void
}

/** How long the diagnostic connection waits for the server's verdict on the client certificate. */
const DIAGNOSIS_WAIT_MS = 1000
/** One diagnosis explains the failures of this long (a flood of failures costs one extra connection). */
const DIAGNOSIS_REUSE_MS = 5000
const CLOSED_CONNECTION = /broken pipe|connection closed|connection reset/i

/**
 * When a TLS 1.3 server refuses the client certificate, its alert arrives after the handshake,
 * and whether fetch reports the alert or only "broken pipe" depends on timing. A handshake of our
 * own, followed by a read, always receives the alert: it names the cause.
 */
async function diagnose(url: URL, options: { caCerts?: string[]; cert?: string; key?: string }): Promise<Error | undefined> {
  let conn: DenoTlsConn | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    conn = await Deno.connectTls({ hostname: url.hostname, port: Number(url.port || 443), ...options })
    await conn.handshake()
    const opened = conn
    await Promise.race([opened.read(new Uint8Array(1)), new Promise((resolve) => (timer = setTimeout(resolve, DIAGNOSIS_WAIT_MS)))])
    return undefined
  } catch (error) {
    return classifyTlsFailure(error) === undefined ? undefined : (error as Error)
  } finally {
    clearTimeout(timer)
    try {
      conn?.close()
    } catch {
      // already closed by the server
    }
  }
}

export function createDenoTlsFetch(files: TlsFiles): typeof fetch {
  const { ca, cert, key, serverName } = readTlsFiles(files, (path) => Deno.readTextFileSync(path))
  if (serverName !== undefined) {
    // Deno's HTTP client checks the certificate against the URL's host and offers no override.
    throw new ConfigError(['VAULT_TLS_SERVER_NAME: not supported on Deno; use a Vault address whose host name the certificate carries (DNS or /etc/hosts), or the Node entry point'])
  }
  let client: unknown
  const options = { ...(ca === undefined ? {} : { caCerts: [ca] }), ...(cert === undefined ? {} : { cert, key }) }
  try {
    client = Deno.createHttpClient(options)
  } catch {
    const settings = [files.caCert, files.clientCert, files.clientKey].filter((file) => file !== undefined).map((file) => file.setting)
    throw new ConfigError([`${settings.join(', ')}: not a usable CA, certificate and matching key`])
  }
  let diagnosis: { atMs: number; result: Promise<Error | undefined> } | undefined
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    try {
      return await fetch(input, { ...init, client } as RequestInit)
    } catch (error) {
      const cause = (error as Error).cause
      if (classifyTlsFailure(error) !== undefined || !(cause instanceof Error) || !CLOSED_CONNECTION.test(cause.message)) throw error
      const url = new URL(input instanceof Request ? input.url : input)
      if (url.protocol !== 'https:') throw error
      if (diagnosis === undefined || Date.now() - diagnosis.atMs > DIAGNOSIS_REUSE_MS) diagnosis = { atMs: Date.now(), result: diagnose(url, options) }
      const alert = await diagnosis.result
      throw alert ? new TypeError('fetch failed', { cause: alert }) : error
    }
  }) as typeof fetch
}

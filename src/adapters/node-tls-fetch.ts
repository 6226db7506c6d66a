// Node: a fetch with its own CA, client certificate and server name, through undici (the HTTP
// client Node's own fetch is built on) — Node's global fetch takes no TLS options, and undici's
// Agent takes node:tls's (https://undici.nodejs.org/#/docs/api/Agent). Requests go through
// undici.request where they can (node-request-fetch.ts).
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { Agent, buildConnector } from 'undici'
import { ConfigError } from '../config.ts'
import { classifyTlsFailure } from '../transport/tls-failure.ts'
import type { TlsFiles } from '../transport/transport-settings.ts'
import { createNodeRequestFetch } from './node-request-fetch.ts'
import { readTlsFiles } from './tls-files.ts'

/** How long a TLS alert received on a socket explains a request that failed on "other side closed". */
const ALERT_EXPLAINS_FAILURE_MS = 2000

export function createNodeTlsFetch(files: TlsFiles): typeof fetch {
  const { ca, cert, key, serverName } = readTlsFiles(files, (path) => readFileSync(path, 'utf8'))
  try {
    // Fails now, not at the first request, when the key does not belong to the certificate.
    createSecureContext({ ca, cert, key })
  } catch (error) {
    const code = (error as { code?: string }).code
    const settings = [files.caCert, files.clientCert, files.clientKey].filter((file) => file !== undefined).map((file) => file.setting)
    throw new ConfigError([`${settings.join(', ')}: ${code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? 'the key does not belong to the certificate' : `not usable PEM (${code ?? 'invalid'})`}`])
  }
  // `ca` replaces Node's bundled roots, as VAULT_CACERT replaces the system roots for the Vault CLI.
  const connector = buildConnector({ ca, cert, key, servername: serverName })
  // When a TLS 1.3 server refuses the client certificate, its alert arrives after the handshake
  // and undici reports only "other side closed"; the socket saw the alert, so keep it.
  let lastAlert: { error: Error; atMs: number } | undefined
  const agent = new Agent({
    connect: (options, callback) =>
      connector(options, (error, socket) => {
        socket?.on('error', (socketError: Error) => {
          if (classifyTlsFailure(socketError) !== undefined) lastAlert = { error: socketError, atMs: Date.now() }
        })
        if (error) callback(error, null)
        else callback(null, socket!)
      }),
  })
  const fetchThroughAgent = createNodeRequestFetch(agent)
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    try {
      return await fetchThroughAgent(input, init)
    } catch (error) {
      const closed = ((error as Error).cause as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET'
      if (closed && classifyTlsFailure(error) === undefined && lastAlert && Date.now() - lastAlert.atMs < ALERT_EXPLAINS_FAILURE_MS) {
        throw new TypeError('fetch failed', { cause: lastAlert.error })
      }
      throw error
    }
  }) as unknown as typeof fetch
}

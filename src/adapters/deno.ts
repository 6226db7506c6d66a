// Deno entry (`npm run start:deno`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE;
// HTTPS with TLS_CERT_FILE and TLS_KEY_FILE; TLS to Vault with VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY (docs/production.md).
import { createBroker } from '../bootstrap.ts'
import { createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { createDenoTlsFetch } from './deno-tls-fetch.ts'
import { describeStartupFailure, withConfigFile } from './process-bindings.ts'
import { readServeSettings } from './serve-settings.ts'
import { readCertificatePair, watchCertificateFiles, type CertificatePair } from './watch-certificate-files.ts'

interface DenoServer {
  shutdown(): Promise<void>
}

declare const Deno: {
  env: { toObject(): Record<string, string> }
  args: string[]
  readTextFileSync(path: string): string
  exit(code: number): never
  serve(
    options: { port: number; hostname: string; reusePort?: boolean; cert?: string; key?: string; onListen?: (addr: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer
}

const log = createConsoleLogger()
try {
  const env = withConfigFile(Deno.env.toObject(), Deno.args, (path) => Deno.readTextFileSync(path))
  const { port, hostname, tls } = readServeSettings(env)
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true, transport: { tls: createDenoTlsFetch } })
  // Renews the leases of dynamic secrets served recently (SPEC §5).
  startLeaseRenewalTimer(services)
  const readFile = (path: string) => Deno.readTextFileSync(path)
  const pair = tls && readCertificatePair(tls.certFile, tls.keyFile, readFile)
  const scheme = tls ? 'https' : 'http'
  let boundPort = port
  const serve = (certificate: CertificatePair | undefined, onListen: (addr: { port: number }) => void) =>
    // reusePort (SO_REUSEPORT): a listener with a renewed certificate opens on the same port
    // before the old one closes, so no connection is refused during the swap.
    Deno.serve({ port: boundPort, hostname, reusePort: tls !== undefined, ...certificate, onListen }, app.fetch)
  let server = serve(pair, (addr) => {
    boundPort = addr.port
    log.log('info', 'vault-edge listening', { runtime: 'deno', url: `${scheme}://${hostname}:${addr.port}` })
  })
  if (tls && pair) {
    // Deno.serve takes its certificate once: a renewed one gets a new listener, and the old one
    // finishes the requests it has and closes.
    watchCertificateFiles(pair, {
      ...tls,
      readFile,
      log,
      use: (next) => {
        const previous = server
        server = serve(next, () => {})
        void previous.shutdown()
      },
    })
  }
} catch (error) {
  console.error(describeStartupFailure(error))
  Deno.exit(1)
}

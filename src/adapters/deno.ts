// Deno entry (`npm run start:deno`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE;
// HTTPS with TLS_CERT_FILE and TLS_KEY_FILE; TLS to Vault with VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY (docs/production.md).
import { setImmediate } from 'node:timers'
import { createBroker } from '../bootstrap.ts'
import { ConfigError } from '../config.ts'
import { createBatchedOutput, createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { createSyncWrites, type SyncWriter } from './deno-log-output.ts'
import { createDenoSignatureVerifier } from './deno-rs256-verify.ts'
import { createDenoTlsFetch } from './deno-tls-fetch.ts'
import { describeStartupFailure, listenFailure, withConfigFile } from './process-bindings.ts'
import { readServeSettings } from './serve-settings.ts'
import { readCertificatePair, UNUSABLE_PAIR, watchCertificateFiles, type CertificatePair } from './watch-certificate-files.ts'

interface DenoServer {
  shutdown(): Promise<void>
}

/** What Deno.serve passes app.fetch as the env (read directly: hono/deno's getConnInfo is deprecated). */
interface ServeHandlerInfo {
  remoteAddr: { hostname: string }
}

declare const Deno: {
  env: { toObject(): Record<string, string> }
  args: string[]
  stdout: SyncWriter
  stderr: SyncWriter
  readTextFileSync(path: string): string
  exit(code: number): never
  serve(
    options: { port: number; hostname: string; cert?: string; key?: string; onListen?: (addr: { port: number }) => void },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): DenoServer
  createHttpClient(options: { cert: string; key: string }): { close(): void }
}

/** Throws when the key does not belong to the certificate (rustls checks it), before the old listener goes. */
function checkCertificatePair(pair: CertificatePair): void {
  try {
    Deno.createHttpClient(pair).close()
  } catch {
    throw new ConfigError([UNUSABLE_PAIR])
  }
}

/** Right after a shutdown the old listener may hold the port for a few event-loop turns. */
async function serveWhenPortIsFree(serve: () => DenoServer): Promise<DenoServer> {
  const deadline = Date.now() + REBIND_TIMEOUT_MS
  for (;;) {
    try {
      return serve()
    } catch (error) {
      const inUse = (error as Error).name === 'AddrInUse' || (error as { code?: string }).code === 'EADDRINUSE'
      if (!inUse || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

const REBIND_TIMEOUT_MS = 2000

const output = createBatchedOutput(
  createSyncWrites(Deno.stdout, Deno.stderr),
  // Deno.exit() dispatches `unload` too (the entry exits that way after a fatal error).
  (flush) => globalThis.addEventListener('unload', flush),
  // Once per event-loop turn, after its I/O callbacks (deno-log-output.ts).
  (flush) => setImmediate(flush),
)
const log = createConsoleLogger('info', output)
try {
  const env = withConfigFile(Deno.env.toObject(), Deno.args, (path) => Deno.readTextFileSync(path))
  const { port, hostname, tls } = readServeSettings(env)
  // Deno.serve hands app.fetch its ServeHandlerInfo as the env: remoteAddr is the socket's peer
  // (a TCP address: the broker listens on TCP only). The token memo hashes the token on every
  // read with the default, identity/sha256-hex.ts (also the Workers one): A/B against node:crypto's
  // here first gave 22.1k → 24.2k req/s for it, then, after the GC and await cuts of issue 9,
  // no difference (twice). (The cache's AES-GCM and HMAC stay on WebCrypto: node:crypto's were
  // no cheaper in Deno, unlike in Node.)
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true, clientAddress: (c) => (c.env as ServeHandlerInfo).remoteAddr.hostname, transport: { tls: createDenoTlsFetch },
    // RS256 by BigInt arithmetic: ~100 µs of CPU per new token instead of Deno's ~450 µs (deno-rs256-verify.ts).
    verifySignature: createDenoSignatureVerifier(crypto.subtle) })
  // Renews the leases of dynamic secrets served recently (SPEC §5).
  startLeaseRenewalTimer(services)
  const readFile = (path: string) => Deno.readTextFileSync(path)
  const pair = tls && readCertificatePair(tls.certFile, tls.keyFile, readFile)
  if (pair) checkCertificatePair(pair)
  const scheme = tls ? 'https' : 'http'
  let boundPort = port
  // The lines logged while answering (the audit line) are written before the answer is sent.
  const answer = async (request: Request, info: ServeHandlerInfo) => {
    const response = await app.fetch(request, info)
    await output.written()
    return response
  }
  const serve = (certificate: CertificatePair | undefined, onListen: (addr: { port: number }) => void) =>
    Deno.serve({ port: boundPort, hostname, ...certificate, onListen }, answer)
  let server: DenoServer
  try {
    server = serve(pair, (addr) => {
      boundPort = addr.port
      log.log('info', 'vault-edge listening', { runtime: 'deno', url: `${scheme}://${hostname}:${addr.port}` })
    })
  } catch (error) {
    throw listenFailure(error, hostname, port)
  }
  if (tls && pair) {
    // Deno.serve takes its certificate once: a renewed one gets a new listener on the same port.
    // The old listener stops accepting at once and finishes the requests it has; until the new one
    // is bound (milliseconds), a new connection is refused. (SO_REUSEPORT would close that gap,
    // but Deno.serve allows it with TLS only behind --unstable-net.)
    watchCertificateFiles(pair, {
      ...tls,
      readFile,
      log,
      use: async (next) => {
        checkCertificatePair(next)
        void server.shutdown()
        try {
          server = await serveWhenPortIsFree(() => serve(next, () => {}))
        } catch (error) {
          // Nothing listens any more: better restarted by the orchestrator than silently deaf.
          log.log('error', 'could not listen again with the renewed certificate; exiting', { error: (error as Error).name })
          Deno.exit(1)
        }
      },
    })
  }
} catch (error) {
  console.error(describeStartupFailure(error))
  Deno.exit(1)
}

// Node entry (`npm run start:node`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE;
// HTTPS with TLS_CERT_FILE and TLS_KEY_FILE; TLS to Vault with VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME (docs/production.md).
import { readFileSync, writeSync } from 'node:fs'
import { createServer, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { getRequestListener, RequestError } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { createBroker } from '../bootstrap.ts'
import { ConfigError } from '../config.ts'
import { AppError, toProblem } from '../errors.ts'
import { createBatchedOutput, createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { nodeSha256Hex, nodeSymmetricCrypto } from './node-symmetric-crypto.ts'
import { createNodeRequestFetch } from './node-request-fetch.ts'
import { createNodeSignatureVerifier } from './node-signature-verifier.ts'
import { createNodeTlsFetch } from './node-tls-fetch.ts'
import { describeStartupFailure, listenFailure, withConfigFile } from './process-bindings.ts'
import { readServeSettings } from './serve-settings.ts'
import { readCertificatePair, UNUSABLE_PAIR, watchCertificateFiles, type CertificatePair } from './watch-certificate-files.ts'

const output = createBatchedOutput(
  { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text), flushAtExit: (fd, text) => writeSync(fd, text) },
  (flush) => process.on('exit', flush),
  // Once per event-loop turn: after the I/O callbacks of the turn, so the answers made in it share one write.
  (flush) => setImmediate(flush),
)
const log = createConsoleLogger('info', output)
try {
  const env = withConfigFile(process.env, process.argv.slice(2), (path) => readFileSync(path, 'utf8'))
  const { port, hostname, tls } = readServeSettings(env)
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true, clientAddress: (c) => getConnInfo(c).remote.address, transport: { tls: createNodeTlsFetch, direct: createNodeRequestFetch() }, symmetricCrypto: nodeSymmetricCrypto, tokenDigest: nodeSha256Hex, verifySignature: createNodeSignatureVerifier() })
  // Renews the leases of dynamic secrets served recently (SPEC §5); unref'd, it never holds the process.
  const stopRenewal = startLeaseRenewalTimer(services)
  // The lines logged while answering (the audit line) are written before the answer is sent.
  const answer = async (request: Request, env: unknown) => {
    const response = await app.fetch(request, env)
    await output.written()
    return response
  }
  const listener = getRequestListener(answer, { errorHandler: problemFor })
  const readFile = (path: string) => readFileSync(path, 'utf8')
  const pair = tls && readCertificatePair(tls.certFile, tls.keyFile, readFile)
  const server: Server = pair ? createHttpsServerOrExplain(pair, listener) : createServer(listener)
  const stopWatching = tls && pair
    ? watchCertificateFiles(pair, { ...tls, readFile, log, use: (next) => (server as HttpsServer).setSecureContext(next), unref: (timer) => timer.unref() })
    : () => {}
  server.listen(port, hostname, () => {
    const address = server.address()
    log.log('info', 'vault-edge listening', { runtime: 'node', url: `${tls ? 'https' : 'http'}://${hostname}:${typeof address === 'object' && address ? address.port : port}` })
  })
  server.once('error', (error) => {
    console.error(describeStartupFailure(listenFailure(error, hostname, port)))
    process.exit(1)
  })
  const stop = () => {
    stopRenewal()
    stopWatching()
    server.close(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (error) {
  console.error(describeStartupFailure(error))
  process.exit(1)
}

function createHttpsServerOrExplain(pair: CertificatePair, listener: RequestListener): HttpsServer {
  try {
    return createHttpsServer(pair, listener)
  } catch {
    throw new ConfigError([UNUSABLE_PAIR])
  }
}

/**
 * @hono/node-server answers a request it cannot turn into a Request (a backslash in the path, a
 * malformed Host) with an empty 400 before the app sees it; the API's 4xx are problem+json (SPEC §2).
 */
function problemFor(error: unknown): Response {
  const known = error instanceof RequestError ? new AppError(400, 'bad_request', 'The request could not be read.') : error
  const requestId = crypto.randomUUID()
  const { problem, headers } = toProblem(known, requestId)
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', 'X-Request-Id': requestId, 'X-Content-Type-Options': 'nosniff' },
  })
}

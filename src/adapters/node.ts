// Node entry (`npm run start:node`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE.
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { getRequestListener, RequestError } from '@hono/node-server'
import { createBroker } from '../bootstrap.ts'
import { AppError, toProblem } from '../errors.ts'
import { createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { describeStartupFailure, listenFailure, parsePort, withConfigFile } from './process-bindings.ts'

const log = createConsoleLogger()
try {
  const env = withConfigFile(process.env, process.argv.slice(2), (path) => readFileSync(path, 'utf8'))
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true })
  // Renews the leases of dynamic secrets served recently (SPEC §5); unref'd, it never holds the process.
  const stopRenewal = startLeaseRenewalTimer(services)
  const port = parsePort(process.env.PORT)
  const hostname = process.env.HOST ?? '127.0.0.1'
  const server: Server = createServer(getRequestListener(app.fetch, { errorHandler: problemFor })).listen(port, hostname, () => {
    const address = server.address()
    log.log('info', 'vault-edge listening', { runtime: 'node', url: `http://${hostname}:${typeof address === 'object' && address ? address.port : port}` })
  })
  server.once('error', (error) => {
    console.error(describeStartupFailure(listenFailure(error, hostname, port)))
    process.exit(1)
  })
  const stop = () => {
    stopRenewal()
    server.close(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (error) {
  console.error(describeStartupFailure(error))
  process.exit(1)
}

/**
 * @hono/node-server answers a request it cannot turn into a Request (a backslash in the path, a
 * malformed Host) with an empty 400 before the app sees it; the API's 4xx are problem+json (SPEC §2).
 */
function problemFor(error: unknown): Response {
  const known = error instanceof RequestError ? new AppError(400, 'bad_request', 'The request could not be read.') : error
  const { problem, headers } = toProblem(known, crypto.randomUUID())
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
  })
}

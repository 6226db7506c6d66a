// Node entry (`npm run start:node`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE.
import { readFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { createBroker } from '../bootstrap.ts'
import { createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { DEFAULT_PORT, describeStartupFailure, withConfigFile } from './process-bindings.ts'

const log = createConsoleLogger()
try {
  const env = withConfigFile(process.env, process.argv.slice(2), (path) => readFileSync(path, 'utf8'))
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true })
  // Renews the leases of dynamic secrets served recently (SPEC §5); unref'd, it never holds the process.
  const stopRenewal = startLeaseRenewalTimer(services)
  const port = Number(process.env.PORT ?? DEFAULT_PORT)
  const hostname = process.env.HOST ?? '127.0.0.1'
  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    log.log('info', 'vault-edge listening', { runtime: 'node', url: `http://${hostname}:${info.port}` })
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

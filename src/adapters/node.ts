// Node entry (`npm run start:node`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE.
import { readFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { createBroker } from '../bootstrap.ts'
import { createConsoleLogger } from '../logger.ts'
import { DEFAULT_PORT, describeStartupFailure, withConfigFile } from './process-bindings.ts'

const log = createConsoleLogger()
try {
  const env = withConfigFile(process.env, process.argv.slice(2), (path) => readFileSync(path, 'utf8'))
  const { app } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true })
  const port = Number(process.env.PORT ?? DEFAULT_PORT)
  const hostname = process.env.HOST ?? '127.0.0.1'
  const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
    log.log('info', 'vault-edge listening', { runtime: 'node', url: `http://${hostname}:${info.port}` })
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (error) {
  console.error(describeStartupFailure(error))
  process.exit(1)
}

// Deno entry (`npm run start:deno`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE.
import { createBroker } from '../bootstrap.ts'
import { createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { describeStartupFailure, listenFailure, parsePort, withConfigFile } from './process-bindings.ts'

declare const Deno: {
  env: { toObject(): Record<string, string> }
  args: string[]
  readTextFileSync(path: string): string
  exit(code: number): never
  serve(options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void }, handler: (request: Request) => Response | Promise<Response>): unknown
}

const log = createConsoleLogger()
try {
  const env = withConfigFile(Deno.env.toObject(), Deno.args, (path) => Deno.readTextFileSync(path))
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true })
  // Renews the leases of dynamic secrets served recently (SPEC §5).
  startLeaseRenewalTimer(services)
  const port = parsePort(env.PORT)
  const hostname = env.HOST ?? '127.0.0.1'
  try {
    Deno.serve({ port, hostname, onListen: ({ port }) => log.log('info', 'vault-edge listening', { runtime: 'deno', url: `http://${hostname}:${port}` }) }, app.fetch)
  } catch (error) {
    throw listenFailure(error, hostname, port)
  }
} catch (error) {
  console.error(describeStartupFailure(error))
  Deno.exit(1)
}

// Deno entry (`npm run start:deno`): PORT (default 8787), HOST, BROKER_CONFIG or --config FILE.
import { getConnInfo } from 'hono/deno'
import { createBroker } from '../bootstrap.ts'
import { createConsoleLogger } from '../logger.ts'
import { startLeaseRenewalTimer } from '../vault/vault-sessions.ts'
import { DEFAULT_PORT, describeStartupFailure, withConfigFile } from './process-bindings.ts'

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
  // Deno.serve hands app.fetch its ServeHandlerInfo as the env: remoteAddr is the socket's peer.
  const { app, services } = await createBroker(env, { fetch: globalThis.fetch, log, metrics: true, clientAddress: (c) => getConnInfo(c).remote.address })
  // Renews the leases of dynamic secrets served recently (SPEC §5).
  startLeaseRenewalTimer(services)
  const port = Number(env.PORT ?? DEFAULT_PORT)
  const hostname = env.HOST ?? '127.0.0.1'
  Deno.serve({ port, hostname, onListen: ({ port }) => log.log('info', 'vault-edge listening', { runtime: 'deno', url: `http://${hostname}:${port}` }) }, app.fetch)
} catch (error) {
  console.error(describeStartupFailure(error))
  Deno.exit(1)
}

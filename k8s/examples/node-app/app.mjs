// An app that fetches its secrets itself: it does not start without them (the pod then shows
// the reason in its log and the kubelet retries), keeps them in memory only, and picks up
// changes while it runs (watch: If-None-Match at the broker's X-Refresh-After, no restart).
import { createServer } from 'node:http'
import { watch } from './vault-edge-client.mjs'

let secrets
const watcher = watch(process.env.VAULT_EDGE_SECRET_PATH, (value) => {
  const changed = secrets !== undefined
  secrets = value
  // Reconfigure what uses them here (a database pool, an API client...).
  if (changed) console.log(`myapp: secrets changed (${Object.keys(value).sort().join(', ')})`)
})
try {
  await watcher.ready
} catch (error) {
  console.error(`myapp: cannot start without secrets: ${error.message}`)
  process.exit(1)
}

// This example only says which keys it has.
const keys = () => Object.keys(secrets).sort()
const server = createServer((request, response) => {
  response.setHeader('Content-Type', 'application/json')
  response.end(JSON.stringify(request.url === '/healthz' ? { status: 'ok' } : { keys: keys() }))
})
const port = Number(process.env.PORT ?? 8080)
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  console.log(`myapp: listening on ${port} with ${keys().length} secret keys (${keys().join(', ')})`)
})
process.on('SIGTERM', () => {
  watcher.stop()
  server.close(() => process.exit(0))
})

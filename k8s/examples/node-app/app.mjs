// An app that fetches its secrets at start-up: it does not start without them (the pod
// then shows the reason in its log and the kubelet retries), and they stay in memory only.
import { createServer } from 'node:http'
import { fetchSecrets } from './fetch-secrets.mjs'

let secrets
try {
  secrets = await fetchSecrets()
} catch (error) {
  console.error(`myapp: cannot start without secrets: ${error.message}`)
  process.exit(1)
}

// Use them (a database pool, an API client...); this example only says which keys it has.
const keys = Object.keys(secrets).sort()
const server = createServer((request, response) => {
  response.setHeader('Content-Type', 'application/json')
  response.end(JSON.stringify(request.url === '/healthz' ? { status: 'ok' } : { keys }))
})
const port = Number(process.env.PORT ?? 8080)
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  console.log(`myapp: listening on ${port} with ${keys.length} secret keys (${keys.join(', ')})`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

// The ceilings of `npm run bench` on Node: the same fixed JSON body as the broker's /healthz,
// from bare `node:http` (argument `node-http`) or from Hono on @hono/node-server (`hono`), the
// stack the broker runs on. `hono-secret`: Hono answering BODY_BYTES bytes with the headers of a
// cached read and nothing else, the most any broker on this stack could do with that answer.
// PORT and HOST as the broker's entry takes them.
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { secretSizedAnswer } from './secret-sized-answer.ts'

const port = Number(process.env.PORT ?? 8787)
const hostname = process.env.HOST ?? '127.0.0.1'
const kind = process.argv[2]
const body = JSON.stringify({ status: 'ok' })

if (kind === 'node-http') {
  createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    response.end(body)
  }).listen(port, hostname)
} else if (kind === 'hono') {
  const app = new Hono().get('*', (c) => c.json({ status: 'ok' }))
  createServer(getRequestListener(app.fetch)).listen(port, hostname)
} else if (kind === 'hono-secret') {
  const app = new Hono().get('*', secretSizedAnswer(Number(process.env.BODY_BYTES)))
  createServer(getRequestListener(app.fetch)).listen(port, hostname)
} else {
  console.error('usage: fixed-json-node.ts node-http|hono|hono-secret')
  process.exit(2)
}

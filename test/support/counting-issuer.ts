// A stand-in OIDC issuer that counts what the broker asks it: discovery and JWKS requests, and
// how many discovery requests were in flight at once. It can hang (never answer) or answer slowly.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface CountingIssuer {
  url: string
  /** `hang`: accept and never answer; a number: answer after that many milliseconds. */
  setBehaviour(behaviour: 'hang' | number): void
  counts(): { discovery: number; jwks: number; maxDiscoveryInFlight: number }
  stop(): Promise<void>
}

export async function startCountingIssuer(jwks: { keys: object[] }): Promise<CountingIssuer> {
  let behaviour: 'hang' | number = 0
  let discovery = 0
  let jwksCount = 0
  let inFlight = 0
  let maxDiscoveryInFlight = 0
  const sockets = new Set<Socket>()
  const answer = (res: ServerResponse, body: unknown) => {
    if (behaviour === 'hang') return
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    }, behaviour)
  }
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      discovery++
      inFlight++
      maxDiscoveryInFlight = Math.max(maxDiscoveryInFlight, inFlight)
      res.once('close', () => inFlight--)
      answer(res, { issuer: url, jwks_uri: `${url}/openid/v1/jwks` })
    } else if (req.url === '/openid/v1/jwks') {
      jwksCount++
      answer(res, jwks)
    } else res.writeHead(404).end()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    setBehaviour: (next) => {
      behaviour = next
    },
    counts: () => ({ discovery, jwks: jwksCount, maxDiscoveryInFlight }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

// An HTTPS front for a plain-HTTP test server (the cluster issuer), so tests can reach it the way
// production reaches a private issuer: over TLS with a certificate from a private CA.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { PemFiles } from './test-pki.ts'

export interface HttpsProxy {
  /** `https://localhost:PORT` */
  url: string
  /** How many requests it forwarded. */
  requests(): number
  stop(): Promise<void>
}

export async function startHttpsProxy(target: string, certificate: PemFiles): Promise<HttpsProxy> {
  let count = 0
  const server = createServer({ cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) }, async (request, response) => {
    count++
    const upstream = await fetch(`${target.replace(/\/+$/, '')}${request.url}`, { method: request.method, headers: { accept: request.headers.accept ?? '*/*' } })
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' })
    response.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

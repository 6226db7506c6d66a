// A TCP proxy in front of OpenBao that holds every chunk of OpenBao's answers for `delayMs`:
// OpenBao stays healthy and answers, only late, as over a congested link or from an overloaded
// server. Requests pass through at once.
import { createConnection, createServer, type Socket } from 'node:net'

export interface DelayingProxy {
  /** `http://127.0.0.1:PORT` */
  url: string
  setDelay(ms: number): void
  stop(): Promise<void>
}

export async function startDelayingProxy(upstream: { host: string; port: number }, initialDelayMs = 0): Promise<DelayingProxy> {
  let delayMs = initialDelayMs
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const server = createConnection(upstream)
    sockets.add(client).add(server)
    const close = () => {
      client.destroy()
      server.destroy()
      sockets.delete(client)
      sockets.delete(server)
    }
    client.on('error', close).on('close', close)
    server.on('error', close).on('close', close)
    client.pipe(server)
    server.on('data', (chunk: Buffer) => {
      if (delayMs === 0) return void client.write(chunk)
      server.pause()
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk)
        server.resume()
      }, delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    setDelay: (ms) => void (delayMs = ms),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

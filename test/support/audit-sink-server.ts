// A stand-in for an HTTP log collector (Splunk HEC, Loki push, a SIEM webhook): keeps every batch
// the broker POSTs, with the header it came with, and can be made to fail.
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface AuditSinkServer {
  url: string
  /** Every event received, in order, with the value of the header `headerName` of its batch. */
  events(): { event: Record<string, unknown>; header: string | undefined }[]
  batches(): number
  /** While down, every POST is answered 503. */
  setDown(down: boolean): void
  stop(): Promise<void>
}

export async function startAuditSinkServer(options: { headerName: string; port?: number }): Promise<AuditSinkServer> {
  const received: { event: Record<string, unknown>; header: string | undefined }[] = []
  let batches = 0
  let down = false
  const sockets = new Set<Socket>()
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (down) return void res.writeHead(503).end()
    const header = req.headers[options.headerName.toLowerCase()]
    batches++
    for (const event of JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[]) {
      received.push({ event, header: typeof header === 'string' ? header : undefined })
    }
    res.writeHead(204).end()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`,
    events: () => [...received],
    batches: () => batches,
    setDown: (value) => {
      down = value
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

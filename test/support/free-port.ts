import { createServer } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: the kernel picks it
 * (listen on port 0), we read it back and close. Another process could take it
 * before the caller binds it; callers that spawn servers retry on EADDRINUSE.
 */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('could not read the port the kernel picked'))
        return
      }
      const { port } = address
      server.close((err) => (err ? reject(err) : resolve(port)))
    })
  })
}

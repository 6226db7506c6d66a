// A GET through node:http, for what fetch cannot do: send the request line byte for byte (fetch
// and URL resolve `.`/`..` first) or leave from a chosen local address (abuse limits per address).
import { request } from 'node:http'

export interface NodeHttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function nodeHttpGet(url: string, options: { path?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<NodeHttpAnswer> {
  return new Promise((resolve, reject) => {
    // An absent option must stay absent: `path: undefined` would replace the URL's own path.
    const { path, localAddress, headers } = options
    const req = request(url, { ...(path && { path }), ...(localAddress && { localAddress }), headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

// A handler answering what a cached read answers (`?format=env` of the bench secret: the same
// number of bytes, the same headers) without doing any of the broker's work: no token, no cache,
// no audit line. Its rate is the floor the body size and headers alone set on each runtime.
import type { Context } from 'hono'

export function secretSizedAnswer(bytes: number) {
  if (!Number.isInteger(bytes) || bytes <= 0) throw new Error('BODY_BYTES must be the size of the secret as read (a positive integer)')
  const line = 'KEY_1=' + 'x'.repeat(400)
  const body = new TextEncoder().encode(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes))
  const etag = `"${'0123456789abcdef'.repeat(4)}"`
  return (c: Context) => {
    c.header('Content-Type', 'text/plain; charset=utf-8')
    c.header('ETag', etag)
    c.header('X-Cache', 'hit')
    c.header('X-Vault-Secret-Version', '1')
    c.header('X-Request-Id', crypto.randomUUID())
    c.header('Cache-Control', 'no-store')
    c.header('X-Content-Type-Options', 'nosniff')
    return c.body(body)
  }
}

// A handler answering what a cached read answers (`?format=env` of the bench secret: the same
// number of bytes, the same headers, built the same way: one Response from a plain record, as
// src/routes/answer.ts does) without doing any of the broker's work: no token, no cache, no
// audit line. Its rate is the floor the body size and headers alone set on each runtime.
export function secretSizedAnswer(bytes: number) {
  if (!Number.isInteger(bytes) || bytes <= 0) throw new Error('BODY_BYTES must be the size of the secret as read (a positive integer)')
  const line = 'KEY_1=' + 'x'.repeat(400)
  const body = new TextEncoder().encode(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes))
  const etag = `"${'0123456789abcdef'.repeat(4)}"`
  return () =>
    new Response(body, {
      status: 200,
      headers: {
        'X-Cache': 'hit',
        'X-Vault-Secret-Version': '1',
        'X-Refresh-After': '3600',
        ETag: etag,
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Request-Id': crypto.randomUUID(),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      },
    })
}

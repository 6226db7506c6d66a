import { describe, expect, it } from 'vitest'
import { FetchSuppressedError, createCooldownFetch } from '../../src/identity/cooldown-fetch.ts'

function countingFetch(answer: () => Promise<Response>) {
  const calls: string[] = []
  const fetchImpl: typeof fetch = async (input) => {
    calls.push(String(input))
    return answer()
  }
  return { calls, fetchImpl }
}

describe('createCooldownFetch', () => {
  it('starts one request per cooldown, succeeded or failed', async () => {
    let nowMs = 0
    const upstream = countingFetch(async () => new Response('{}', { status: 503 }))
    const failures: string[] = []
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => true, onFailure: (reason) => failures.push(reason), clock: () => nowMs })
    expect((await gated('https://issuer/keys')).status).toBe(503)
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    nowMs = 999
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    nowMs = 1000
    expect((await gated('https://issuer/keys')).status).toBe(503)
    expect(upstream.calls).toHaveLength(2)
    expect(failures).toEqual(['answered HTTP 503', 'answered HTTP 503'])
  })

  it('lets callers with nothing cached join the one attempt in flight, each with a Response of its own', async () => {
    const pending: ((response: Response) => void)[] = []
    const upstream = countingFetch(() => new Promise<Response>((resolve) => pending.push(resolve)))
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => false, clock: () => 0 })
    const callers = Array.from({ length: 50 }, () => gated('https://issuer/keys'))
    await Promise.resolve()
    expect(pending).toHaveLength(1)
    pending[0]!(new Response('{"keys":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } }))
    const answers = await Promise.all(callers)
    expect(upstream.calls).toHaveLength(1)
    // Every body is readable: none is shared with another caller.
    for (const answer of answers) expect(await answer.json()).toEqual({ keys: [] })
    // Once nothing is in flight, a cold caller within the cooldown gets that answer: still one fetch.
    expect(await (await gated('https://issuer/keys')).json()).toEqual({ keys: [] })
    expect(upstream.calls).toHaveLength(1)
  })

  it('gives a caller with nothing cached, coming within the cooldown just after a successful attempt, that answer without a fetch', async () => {
    let nowMs = 0
    let cached = false
    let status = 200
    const upstream = countingFetch(async () => new Response(status === 200 ? '{"keys":[]}' : '', { status }))
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => cached, clock: () => nowMs })
    expect((await gated('https://issuer/keys')).status).toBe(200)
    nowMs = 10
    // The attempt has ended, its keys are not stored yet: the caller gets the answer, not a refusal.
    expect(await (await gated('https://issuer/keys')).json()).toEqual({ keys: [] })
    expect(upstream.calls).toHaveLength(1)
    // A caller that has keys to serve is still refused within the cooldown.
    cached = true
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    // After a failed attempt, a caller with nothing cached is refused within the cooldown, as before.
    cached = false
    status = 503
    nowMs = 1000
    expect((await gated('https://issuer/keys')).status).toBe(503)
    nowMs = 1010
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    expect(upstream.calls).toHaveLength(2)
  })

  it('does not make a caller with something cached wait for the attempt in flight', async () => {
    const upstream = countingFetch(() => new Promise<Response>(() => {}))
    let cached = false
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => cached, clock: () => 0 })
    void gated('https://issuer/keys').catch(() => {})
    cached = true
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    expect(upstream.calls).toHaveLength(1)
  })

  it('shares a failure with every joined caller and reports it once', async () => {
    const failures: string[] = []
    let fail: (error: Error) => void = () => {}
    const upstream = countingFetch(() => new Promise<Response>((_, reject) => (fail = reject)))
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => false, onFailure: (reason) => failures.push(reason), clock: () => 0 })
    const callers = Array.from({ length: 20 }, () => gated('https://issuer/keys'))
    await Promise.resolve()
    fail(new DOMException('The operation timed out.', 'TimeoutError'))
    for (const caller of callers) await expect(caller).rejects.toThrow('timed out')
    expect(upstream.calls).toHaveLength(1)
    expect(failures).toEqual(['timed out'])
  })

  it('reports a network failure once and passes it on', async () => {
    const failures: string[] = []
    const gated = createCooldownFetch({
      fetch: async () => {
        throw new TypeError('fetch failed')
      },
      cooldownMs: 1000,
      hasFallback: () => true,
      onFailure: (reason) => failures.push(reason),
      clock: () => 0,
    })
    await expect(gated('https://issuer/keys')).rejects.toThrow('fetch failed')
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
    expect(failures).toEqual(['network error (TypeError)'])
  })
})

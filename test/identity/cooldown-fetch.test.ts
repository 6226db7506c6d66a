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
    expect(failures).toEqual(['answered 503', 'answered 503'])
  })

  it('lets a cold caller with nothing cached join a cold start instead of failing', async () => {
    const pending: ((response: Response) => void)[] = []
    const upstream = countingFetch(() => new Promise<Response>((resolve) => pending.push(resolve)))
    const gated = createCooldownFetch({ fetch: upstream.fetchImpl, cooldownMs: 1000, hasFallback: () => false, clock: () => 0 })
    const first = gated('https://issuer/keys')
    const second = gated('https://issuer/keys')
    await Promise.resolve()
    for (const resolve of pending) resolve(new Response('{}', { status: 200 }))
    await Promise.all([first, second])
    expect(upstream.calls).toHaveLength(2)
    // Once nothing is in flight, a cold caller waits for the cooldown like everyone else.
    await expect(gated('https://issuer/keys')).rejects.toBeInstanceOf(FetchSuppressedError)
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
    expect(failures).toEqual(['TypeError'])
  })
})

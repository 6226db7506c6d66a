// A pod that keeps polling a dynamic secret with If-None-Match (vault-edge-exec.sh, the client's
// watch) gets 304s, never the body again; each 304 still counts as "served" for the renewal
// job, so the lease — and the PostgreSQL login behind it — lives on across several terms. And
// X-Refresh-After tells the poller to come back well within idleSeconds.
import { describe, expect, it } from 'vitest'
import { useLeaseRenewalBroker } from './support/lease-renewal-broker.ts'
import { eventually, podToken } from './support/vault-stack.ts'

const LEASE_SECONDS = 4
const IDLE_SECONDS = 2
const stack = useLeaseRenewalBroker({ leaseSeconds: LEASE_SECONDS, idleSeconds: IDLE_SECONDS })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a pod polling a leased secret with If-None-Match', () => {
  it('gets 304s that keep the lease renewed, and the credentials keep working past several lease terms', async () => {
    const { engine, broker } = stack
    const token = await podToken({ serviceAccount: engine.serviceAccount })
    const first = await broker.call(`/v1/secrets/${engine.credsPath}`, token)
    expect(first.status).toBe(200)
    const etag = first.headers.get('etag')!
    const creds = (await first.json()) as { username: string; password: string }
    // Back well before the renewal job would call the lease idle.
    expect(Number(first.headers.get('x-refresh-after'))).toBeLessThanOrEqual(IDLE_SECONDS / 2)

    const started = Date.now()
    const statuses = new Set<number>()
    while (Date.now() - started < 2.5 * LEASE_SECONDS * 1000) {
      await sleep(Number(first.headers.get('x-refresh-after')) * 1000)
      const poll = await broker.call(`/v1/secrets/${engine.credsPath}`, token, { headers: { 'If-None-Match': etag } })
      statuses.add(poll.status)
      expect(Number(poll.headers.get('x-refresh-after'))).toBeGreaterThanOrEqual(1)
    }
    // Only 304s: the same credentials all along, never sent again.
    expect([...statuses]).toEqual([304])
    expect(await engine.database.loginAs(creds.username, creds.password)).toBe(creds.username)
    expect((await engine.database.validUntil(creds.username))!.getTime()).toBeGreaterThan(Date.now())
    expect(broker.log.lines.filter((line) => line.includes('"msg":"lease renewal"')).length).toBeGreaterThanOrEqual(2)

    // A pod that fetched once and stopped asking: the lease is left to expire with its term.
    const dropped = await eventually(async () => (await engine.database.validUntil(creds.username)) === undefined, (IDLE_SECONDS + LEASE_SECONDS + 8) * 1000, 250)
    expect(dropped).toBe(true)
  })
})

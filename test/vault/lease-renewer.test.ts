// The renewal job's decisions with a scripted Vault and a fake clock: what is renewed when,
// what is left to expire, what a renewal does to the cached entry (the same job against the
// real OpenBao and PostgreSQL: lease-renewal.test.ts, lease-renewal-worker.test.ts).
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { Identity } from '../../src/identity/identity.ts'
import type { CachedRead } from '../../src/secret-broker.ts'
import { createLeaseRegistry, servedLeaseOf } from '../../src/vault/lease-registry.ts'
import { leaseMarginSeconds, renewalHorizonSeconds, renewServedLeases } from '../../src/vault/lease-renewer.ts'
import { unwrapSecret } from '../../src/vault/read-secret.ts'
import { createTokenSource, tokenPartsOf } from '../../src/vault/token-source.ts'
import { authAnswer, createClock, createFakeVault, createTestCache } from './support/fake-vault.ts'

const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt' }
const PARTS = ['scope', 'jwt', 'app', 'database/creds/app', '']
const LEASE = 'database/creds/app/abc123'

async function setUp(options: { leaseSeconds?: number; intervalSeconds?: number; idleSeconds?: number; tokenTtl?: number } = {}) {
  const leaseSeconds = options.leaseSeconds ?? 60
  const config = { intervalSeconds: options.intervalSeconds ?? 1, idleSeconds: options.idleSeconds ?? 30 }
  const clock = createClock()
  const fake = createFakeVault()
  fake.on(/^auth\/jwt\/login$/, () => authAnswer(options.tokenTtl ?? 3600))
  fake.on(/^auth\/token\/renew-self$/, (call) => authAnswer(options.tokenTtl ?? 3600, { token: call.token }))
  fake.on(/^database\/creds\/app$/, () => ({ lease_id: LEASE, lease_duration: leaseSeconds, renewable: true, data: { username: 'v-app', password: 'pw' } }))
  fake.on(/^sys\/leases\/renew$/, (call) => ({ lease_id: (call.body as { lease_id: string }).lease_id, lease_duration: leaseSeconds, renewable: true, data: null }))
  const cache = await createTestCache(clock.now)
  const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
  const leases = createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 })
  const run = () => renewServedLeases({ vault: fake.vault, cache, tokens, leases, now: clock.now, config })

  /** What the broker does on a miss: read with the pod's token, cache the entry, note it served. */
  async function serve() {
    const secret = await tokens.withToken(request, (login) => fake.vault<any>('GET', 'database/creds/app', { token: login.token }))
    const expires = clock.now() + secret.lease_duration * 1000
    const entry: CachedRead = { read: unwrapSecret('database/creds/app', secret), freshUntilMs: expires - leaseMarginSeconds(secret.lease_duration) * 1000, leaseExpiresAtMs: expires }
    await cache.set('secret', PARTS, entry, secret.lease_duration)
    await leases.noteServed(servedLeaseOf(request, PARTS, entry))
    return entry
  }
  /** A cache hit, noted as served again. */
  async function serveAgain() {
    const entry = (await cache.get<CachedRead>('secret', PARTS))!
    await leases.noteServed(servedLeaseOf(request, PARTS, entry))
    return entry
  }
  return { clock, fake, cache, tokens, leases, run, serve, serveAgain, config }
}

describe('lease timing', () => {
  it('stops serving 10 s before a lease ends, or a fifth of short leases', () => {
    expect(leaseMarginSeconds(3600)).toBe(10)
    expect(leaseMarginSeconds(6)).toBeCloseTo(1.2)
  })

  it('renews at a third left, or early enough for two more runs of the job', () => {
    expect(renewalHorizonSeconds(3600, 60)).toBe(1200)
    expect(renewalHorizonSeconds(300, 60)).toBe(130)
    expect(renewalHorizonSeconds(6, 1)).toBeCloseTo(3.2)
  })
})

describe('lease registry', () => {
  it('ignores secrets without a lease', async () => {
    const { leases } = await setUp()
    const kv = unwrapSecret('secret/data/x', { lease_id: '', lease_duration: 0, renewable: false, data: { data: { a: 1 }, metadata: { version: 1 } } })
    await leases.noteServed(servedLeaseOf(request, PARTS, { read: kv, leaseExpiresAtMs: undefined }))
    expect(await leases.records()).toEqual([])
  })

  it('records a served lease with when it was last served, at most once per throttle interval', async () => {
    const { clock, leases, serve, serveAgain } = await setUp()
    await serve()
    const first = (await leases.records())[0]!
    expect(first).toMatchObject({ leaseId: LEASE, authMount: 'jwt', role: 'app', leaseDurationSeconds: 60, lastServedAtMs: clock.now() })
    clock.advance(300)
    await serveAgain()
    expect((await leases.records())[0]!.lastServedAtMs).toBe(first.lastServedAtMs)
    clock.advance(300)
    await serveAgain()
    expect((await leases.records())[0]!.lastServedAtMs).toBe(clock.now())
  })
})

describe('renewal job', () => {
  it('waits while the lease is far from its end', async () => {
    const { fake, run, serve } = await setUp()
    await serve()
    expect(await run()).toMatchObject({ renewed: 0, waiting: 1 })
    expect(fake.count(/sys\/leases\/renew/)).toBe(0)
  })

  it("renews a due lease with the pod's token and extends the cached entry", async () => {
    const { clock, fake, cache, run, serve, serveAgain } = await setUp()
    const served = await serve()
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ renewed: 1 })
    const renewal = fake.calls.find((call) => call.path === 'sys/leases/renew')!
    expect(renewal.body).toEqual({ lease_id: LEASE, increment: 60 })
    expect(renewal.token).toBe(fake.calls.find((call) => call.path === 'database/creds/app')!.token)
    const entry = (await cache.get<CachedRead>('secret', PARTS))!
    expect(entry.leaseExpiresAtMs).toBe(clock.now() + 60_000)
    expect(entry.freshUntilMs).toBe(clock.now() + 50_000)
    expect(entry.read.values).toEqual(served.read.values)
    // The entry outlives the first lease's end.
    clock.advance(30_000)
    expect(await cache.get('secret', PARTS)).toBeDefined()
  })

  it('leaves an idle lease to expire', async () => {
    const { clock, fake, leases, run, serve } = await setUp({ idleSeconds: 30 })
    await serve()
    clock.advance(45_000)
    expect(await run()).toMatchObject({ renewed: 0, idle: 1 })
    expect(fake.count(/sys\/leases\/renew/)).toBe(0)
    expect(await leases.records()).toEqual([])
  })

  it('drops the cached entry when Vault no longer knows the lease', async () => {
    const { clock, fake, cache, leases, run, serve, serveAgain } = await setUp()
    await serve()
    fake.on(/^sys\/leases\/renew$/, () => {
      throw new AppError(400, 'vault_bad_request', 'lease not found')
    })
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ gone: 1 })
    expect(await cache.get('secret', PARTS)).toBeUndefined()
    expect(await leases.records()).toEqual([])
  })

  it('keeps the lease and tries again next run when Vault is unavailable', async () => {
    const { clock, fake, cache, leases, run, serve, serveAgain } = await setUp()
    await serve()
    fake.on(/^sys\/leases\/renew$/, () => {
      throw new AppError(503, 'vault_unavailable', 'Vault is unavailable.')
    })
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ failed: 1 })
    expect(await cache.get('secret', PARTS)).toBeDefined()
    expect(await leases.records()).toHaveLength(1)
  })

  it('renews the token that holds the lease when it would end before the next term', async () => {
    const { clock, fake, run, serve, serveAgain } = await setUp({ tokenTtl: 120 })
    await serve()
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ renewed: 1 })
    const paths = fake.calls.map((call) => call.path)
    expect(paths.indexOf('auth/token/renew-self')).toBeGreaterThan(-1)
    expect(paths.indexOf('auth/token/renew-self')).toBeLessThan(paths.indexOf('sys/leases/renew'))
  })

  it('cannot renew once the token that holds the lease is gone from the cache', async () => {
    const { clock, cache, run, serve, serveAgain } = await setUp()
    await serve()
    await cache.delete('vault-token', tokenPartsOf(request))
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ gone: 1, renewed: 0 })
  })

  it('runs once per interval across processes sharing the cache', async () => {
    const { run } = await setUp({ intervalSeconds: 60 })
    expect(await run()).toMatchObject({ skipped: false })
    expect(await run()).toMatchObject({ skipped: true })
  })
})

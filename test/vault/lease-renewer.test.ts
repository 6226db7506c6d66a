// The renewal job's decisions with a scripted Vault and a fake clock: what is renewed when,
// what is left to expire, what a renewal does to the cached entry (the same job against the
// real OpenBao and PostgreSQL: lease-renewal.test.ts, lease-renewal-worker.test.ts).
import { describe, expect, inject, it } from 'vitest'
import { createSealer } from '../../src/cache/seal.ts'
import { createSecureCache } from '../../src/cache/secure-cache.ts'
import { createUpstashStore } from '../../src/cache/upstash-store.ts'
import { AppError } from '../../src/errors.ts'
import type { Identity } from '../../src/identity/identity.ts'
import type { StoredRead } from '../../src/secret-broker.ts'
import { createLeaseRegistry, servedLeaseOf } from '../../src/vault/lease-registry.ts'
import { leasedEntryTimes, leaseMarginSeconds, renewalHorizonSeconds, renewServedLeases, runLeaseRenewal } from '../../src/vault/lease-renewer.ts'
import { unwrapSecret } from '../../src/vault/read-secret.ts'
import { createTokenSource, leaseTokenOf, tokenPartsOf } from '../../src/vault/token-source.ts'
import { startUpstashShim } from '../support/upstash-shim.ts'
import { authAnswer, createClock, createFakeVault, createTestCache, denied } from './support/fake-vault.ts'

const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt', path: 'database/creds/app' }
const PARTS = ['scope', 'jwt', 'app', 'database/creds/app', '']
const LEASE = 'database/creds/app/abc123'

async function setUp(options: { leaseSeconds?: number; intervalSeconds?: number; idleSeconds?: number; tokenTtl?: number; tokenRenewable?: boolean } = {}) {
  const leaseSeconds = options.leaseSeconds ?? 60
  const config = { intervalSeconds: options.intervalSeconds ?? 1, idleSeconds: options.idleSeconds ?? 30 }
  const clock = createClock()
  const fake = createFakeVault()
  const renewable = options.tokenRenewable ?? true
  fake.on(/^auth\/jwt\/login$/, () => authAnswer(options.tokenTtl ?? 3600, { renewable }))
  fake.on(/^auth\/token\/renew-self$/, (call) => authAnswer(options.tokenTtl ?? 3600, { token: call.token, renewable }))
  fake.on(/^sys\/capabilities-self$/, (call) => {
    const [path] = (call.body as { paths: string[] }).paths
    return { data: { [path!]: ['read'] } }
  })
  fake.on(/^database\/creds\/app$/, () => ({ lease_id: LEASE, lease_duration: leaseSeconds, renewable: true, data: { username: 'v-app', password: 'pw' } }))
  fake.on(/^sys\/leases\/renew$/, (call) => ({ lease_id: (call.body as { lease_id: string }).lease_id, lease_duration: leaseSeconds, renewable: true, data: null }))
  const cache = await createTestCache(clock.now)
  const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
  const leases = createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 })
  const run = () => renewServedLeases({ vault: fake.vault, cache, tokens, leases, now: clock.now, config })

  /** What the broker does on a miss: read with the pod's token, cache the entry, note it served. */
  async function serve() {
    const { secret, login } = await tokens.withToken(request, async (login) => ({ secret: await fake.vault<any>('GET', 'database/creds/app', { token: login.token }), login }))
    const leaseToken = leaseTokenOf(login)
    const stored: StoredRead = { secret, filledAtMs: clock.now(), ...leasedEntryTimes(clock.now(), secret.lease_duration, leaseToken.expiresAtMs), leaseToken }
    await cache.set('secret', PARTS, stored, (stored.leaseExpiresAtMs! - clock.now()) / 1000)
    const entry = { read: unwrapSecret('database/creds/app', secret), ...stored, leaseExpiresAtMs: stored.leaseExpiresAtMs }
    await leases.noteServed(servedLeaseOf(request, PARTS, entry))
    return entry
  }
  /** A cache hit, noted as served again. */
  async function serveAgain() {
    const stored = (await cache.get<StoredRead>('secret', PARTS))!
    const entry = { read: unwrapSecret('database/creds/app', stored.secret), ...stored, leaseExpiresAtMs: stored.leaseExpiresAtMs }
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

  it('ends a leased entry with the Vault token that holds the lease when the token ends first', () => {
    expect(leasedEntryTimes(0, 60)).toEqual({ leaseExpiresAtMs: 60_000, freshUntilMs: 50_000 })
    expect(leasedEntryTimes(0, 60, 90_000)).toEqual({ leaseExpiresAtMs: 60_000, freshUntilMs: 50_000 })
    // Vault revokes a token's leases when the token expires: 40 s left, served fresh for 32.
    expect(leasedEntryTimes(0, 60, 40_000)).toEqual({ leaseExpiresAtMs: 40_000, freshUntilMs: 32_000 })
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

describe('lease registry under concurrency', () => {
  const leaseOf = (clock: { now: () => number }, index: number) =>
    servedLeaseOf(request, [...PARTS.slice(0, 3), `database/creds/app-${index}`, ''], {
      read: unwrapSecret('database/creds/app', { lease_id: `database/creds/app-${index}/id`, lease_duration: 60, renewable: true, data: { username: `u${index}` } }),
      leaseExpiresAtMs: clock.now() + 60_000,
    })

  it('keeps every lease noted at once, by one process or by several sharing the cache', async () => {
    const { clock, cache, leases } = await setUp()
    const otherProcess = createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 })
    await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 ? leases : otherProcess).noteServed(leaseOf(clock, index))))
    expect((await leases.records()).map((record) => record.leaseId).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `database/creds/app-${index}/id`).sort())
  })

  it('keeps every lease noted at once by brokers sharing Redis through the Upstash protocol', async () => {
    const shim = await startUpstashShim({ redisUrl: inject('redisUrl'), token: 'lease-registry-test' })
    try {
      const clock = createClock(Date.now())
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')
      const brokers = await Promise.all(
        [0, 1].map(async () => {
          const cache = createSecureCache(createUpstashStore({ url: shim.url, token: shim.token, timeoutMs: 10_000 }), await createSealer(key), { now: clock.now })
          return createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 })
        }),
      )
      await Promise.all(Array.from({ length: 20 }, (_, index) => brokers[index % 2]!.noteServed(leaseOf(clock, index))))
      const ids = Array.from({ length: 20 }, (_, index) => `database/creds/app-${index}/id`)
      expect((await brokers[0]!.records()).map((record) => record.leaseId).sort()).toEqual(ids.sort())
      await brokers[1]!.forget(ids.slice(0, 10))
      expect((await brokers[0]!.records()).map((record) => record.leaseId).sort()).toEqual(ids.slice(10).sort())
      // What Redis holds for the index: a set of 64-hex names, with a TTL.
      const sets = shim.commandLog().filter(([name]) => name === 'SADD')
      expect(sets.length).toBe(20)
      expect(sets.every(([, , member]) => /^[0-9a-f]{64}$/.test(member!))).toBe(true)
    } finally {
      await shim.stop()
    }
  })

  it('forgets exactly the leases it is told to, while others are being noted', async () => {
    const { clock, leases } = await setUp()
    await Promise.all([0, 1, 2].map((index) => leases.noteServed(leaseOf(clock, index))))
    await Promise.all([leases.forget(['database/creds/app-0/id']), leases.noteServed(leaseOf(clock, 3))])
    expect((await leases.records()).map((record) => record.leaseId).sort()).toEqual(['database/creds/app-1/id', 'database/creds/app-2/id', 'database/creds/app-3/id'])
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
    const entry = (await cache.get<StoredRead>('secret', PARTS))!
    expect(entry.leaseExpiresAtMs).toBe(clock.now() + 60_000)
    expect(entry.freshUntilMs).toBe(clock.now() + 50_000)
    expect(unwrapSecret('database/creds/app', entry.secret).values).toEqual(served.read.values)
    // The entry outlives the first lease's end.
    clock.advance(30_000)
    expect(await cache.get('secret', PARTS)).toBeDefined()
  })

  it('times a renewed lease from when the renewal was sent, not from when Vault answered', async () => {
    const { clock, fake, cache, run, serve, serveAgain } = await setUp()
    await serve()
    clock.advance(45_000)
    await serveAgain()
    const sent = clock.now()
    fake.on(/^sys\/leases\/renew$/, () => (clock.advance(2000), { lease_id: LEASE, lease_duration: 60, renewable: true, data: null }))
    expect(await run()).toMatchObject({ renewed: 1 })
    expect((await cache.get<StoredRead>('secret', PARTS))!.leaseExpiresAtMs).toBe(sent + 60_000)
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

  it('extends a renewed lease only as far as the Vault token that holds it lives', async () => {
    const { clock, cache, run, serve, serveAgain } = await setUp({ tokenTtl: 100, tokenRenewable: false })
    const startMs = clock.now()
    await serve()
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ renewed: 1 })
    // Vault renewed the lease to 105 s, but revokes it with the token at 100 s.
    const entry = (await cache.get<StoredRead>('secret', PARTS))!
    expect(entry.leaseExpiresAtMs).toBe(startMs + 100_000)
    expect(entry.freshUntilMs).toBeLessThan(startMs + 100_000)
  })

  it('does not extend a lease past the end of the token that read it once another token replaced it', async () => {
    const { clock, fake, cache, tokens, run, serve, serveAgain } = await setUp({ tokenTtl: 100, tokenRenewable: false })
    const startMs = clock.now()
    const served = await serve()
    // A 403 elsewhere makes the broker log in again: the new token lives an hour, the lease's own 100 s.
    fake.on(/^auth\/jwt\/login$/, () => authAnswer(3600))
    clock.advance(30_000)
    await tokens.withToken(request, async (login) => (login.accessor === served.leaseToken!.accessor ? denied() : 'ok'))
    clock.advance(15_000)
    await serveAgain()
    expect(await run()).toMatchObject({ renewed: 1 })
    expect((await cache.get<StoredRead>('secret', PARTS))!.leaseExpiresAtMs).toBe(startMs + 100_000)
  })

  it('drops the cached entry instead of renewing when Vault says the identity may no longer read the path', async () => {
    const { clock, fake, cache, leases, run, serve, serveAgain } = await setUp()
    await serve()
    fake.on(/^sys\/capabilities-self$/, () => ({ data: { 'database/creds/app': ['deny'] } }))
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ gone: 1, renewed: 0 })
    expect(fake.count(/^sys\/leases\/renew$/)).toBe(0)
    expect(await cache.get('secret', PARTS)).toBeUndefined()
    expect(await leases.records()).toEqual([])
  })

  it('still renews when Vault will not say what the token may do (a role without the default policy)', async () => {
    const { clock, fake, run, serve, serveAgain } = await setUp()
    await serve()
    fake.on(/^sys\/capabilities-self$/, denied)
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ renewed: 1 })
  })

  it('cannot renew once the token that holds the lease is gone from the cache, and drops the cached entry', async () => {
    const { clock, cache, run, serve, serveAgain } = await setUp()
    await serve()
    await cache.delete('vault-token', tokenPartsOf(request))
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ gone: 1, renewed: 0 })
    expect(await cache.get('secret', PARTS)).toBeUndefined()
  })

  it('drops the cached entry when Vault says the token that holds the lease was revoked (and the lease with it)', async () => {
    const { clock, fake, cache, run, serve, serveAgain } = await setUp({ tokenTtl: 120 })
    await serve()
    fake.on(/^auth\/token\/renew-self$/, denied)
    clock.advance(45_000)
    await serveAgain()
    expect(await run()).toMatchObject({ gone: 1, renewed: 0 })
    expect(fake.count(/^sys\/leases\/renew$/)).toBe(0)
    expect(await cache.get('secret', PARTS)).toBeUndefined()
  })

  it('runs once per interval across processes sharing the cache', async () => {
    const { run } = await setUp({ intervalSeconds: 60 })
    expect(await run()).toMatchObject({ skipped: false })
    expect(await run()).toMatchObject({ skipped: true })
  })
})

describe('a run of the job', () => {
  it('never throws, and logs a failure by its class only', async () => {
    const { fake, cache, tokens, clock, config } = await setUp()
    const lines: string[] = []
    const leases = { ...createLeaseRegistry({ cache, now: clock.now, throttleMs: 500 }), records: async () => { throw new TypeError('postgres://app:hunter2@db') } }
    const report = await runLeaseRenewal({ vault: fake.vault, cache, tokens, leases, now: clock.now, config, log: (level, message, fields) => lines.push(JSON.stringify({ level, message, fields })) })
    expect(report).toBeUndefined()
    expect(lines).toEqual([JSON.stringify({ level: 'warn', message: 'lease renewal run failed', fields: { error: 'TypeError' } })])
  })
})

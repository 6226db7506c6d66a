// Issue 9: the in-process level in front of the shared store, and verified tokens remembered.
// - the in-process level never answers another identity (property test, scripted Vault whose
//   answers name the Vault token they were read with);
// - a 403 from Vault removes the identity's entry from both levels;
// - a remembered token ends at its exp, and when its key leaves the cluster's JWKS.
import fc from 'fast-check'
import { createLocalJWKSet, type JSONWebKeySet } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import { createLocalLevel } from '../../src/cache/local-level.ts'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createSealer } from '../../src/cache/seal.ts'
import { createSecureCache } from '../../src/cache/secure-cache.ts'
import { parseConfig, type Config } from '../../src/config.ts'
import type { ClusterKeys } from '../../src/identity/cluster-keys.ts'
import { identityScope, type Identity } from '../../src/identity/identity.ts'
import { KEY_RECHECK_MS, createVerifiedTokenMemo } from '../../src/identity/verified-token-memo.ts'
import { createSecretBroker } from '../../src/secret-broker.ts'
import { createLeaseRegistry } from '../../src/vault/lease-registry.ts'
import { createTokenSource } from '../../src/vault/token-source.ts'
import { startClusterIssuer } from '../support/cluster-issuer.ts'
import { decodeJwt } from '../support/mint.ts'
import { authAnswer, createClock, createFakeVault, denied } from '../vault/support/fake-vault.ts'

const config = { vault: { timeoutMs: 1000 }, cache: { kvTtlSeconds: 60, maxStaleSeconds: 3600 } } as Config

/** A broker over a scripted Vault: a login's token names the pod JWT it was made from, a read names the token. */
async function scriptedBroker() {
  const clock = createClock()
  const fake = createFakeVault()
  fake.on(/^auth\/jwt\/login$/, (call) => authAnswer(3600, { token: `token-of:${(call.body as { jwt: string }).jwt}` }))
  fake.on(/^auth\/token\/lookup-self$/, () => ({ data: {} }))
  fake.on(/^secret\//, (call) => ({ lease_id: '', lease_duration: 0, renewable: false, data: { data: { token: call.token, path: call.path }, metadata: { version: 1 } } }))
  const store = createMemoryStore(clock.now)
  const local = createLocalLevel({ now: clock.now })
  const sealer = await createSealer(undefined)
  const cache = createSecureCache(store, sealer, { now: clock.now, local })
  const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
  const leases = createLeaseRegistry({ cache, now: clock.now, throttleMs: 1000 })
  const broker = createSecretBroker({ config, vault: fake.vault, cache, now: clock.now, tokens, leases })
  return { clock, fake, store, local, sealer, cache, broker }
}

const identityArbitrary = fc.record({
  cluster: fc.constantFrom('c1', 'c2'),
  namespace: fc.constantFrom('ns', 'ns-a', 'a', 'ns","a'),
  serviceAccount: fc.constantFrom('app', 'b-app', 'app"', 'x'),
  serviceAccountUid: fc.option(fc.constantFrom('uid-1', 'uid-2'), { nil: undefined }),
  pod: fc.constantFrom('p1', 'p2'),
  podUid: fc.constant('pu'),
})

const jwtOf = (identity: Identity) => `jwt:${identityScope(identity)}`
const requestOf = (identity: Identity, path: string) => ({ identity, jwt: jwtOf(identity), role: 'app', authMount: 'jwt', path, kvTtlSeconds: 60 })

describe('the in-process level', () => {
  it('never answers one identity with what another one read (any identities, paths and order)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(identityArbitrary, fc.constantFrom('secret/data/a', 'secret/data/b', 'secret/data/a/b')), { minLength: 1, maxLength: 25 }),
        async (reads) => {
          const { broker, clock } = await scriptedBroker()
          for (const [identity, path] of reads) {
            const result = await broker.getSecret(requestOf(identity, path))
            // Pods of one ServiceAccount share a login; anything else must be this identity's own read.
            expect(result.read.values).toEqual({ token: `token-of:${jwtOf(identity)}`, path })
            clock.advance(1000)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('answers a fresh entry it holds without a promise, and anything else with one', async () => {
    const { broker, clock } = await scriptedBroker()
    const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'a', serviceAccountUid: 'u1', pod: 'p', podUid: 'pu' }
    const first = broker.getSecret(requestOf(identity, 'secret/data/a'))
    expect(first).toBeInstanceOf(Promise)
    expect(await first).toMatchObject({ cache: 'miss' })
    // A cached read awaits nothing (issue 9: each await is a turn of the microtask queue).
    const held = broker.getSecret(requestOf(identity, 'secret/data/a'))
    expect(held).not.toBeInstanceOf(Promise)
    expect(held).toMatchObject({ cache: 'hit', read: { values: { path: 'secret/data/a' } } })
    const refreshed = broker.getSecret({ ...requestOf(identity, 'secret/data/a'), refresh: true })
    expect(refreshed).toBeInstanceOf(Promise)
    await refreshed
    clock.advance(61_000)
    const expired = broker.getSecret(requestOf(identity, 'secret/data/a'))
    expect(expired).toBeInstanceOf(Promise)
    await expired
  })

  it('loses the entry in both levels, and only that identity\u2019s, when Vault answers 403', async () => {
    const { broker, fake, store, local, sealer, cache } = await scriptedBroker()
    const a: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'a', serviceAccountUid: 'u1', pod: 'p', podUid: 'pu' }
    const b: Identity = { ...a, serviceAccount: 'b', serviceAccountUid: 'u2' }
    const path = 'secret/data/shared'
    const partsOf = (identity: Identity) => [identityScope(identity), 'jwt', 'app', path, '']
    const material = (identity: Identity) => JSON.stringify(['secret', ...partsOf(identity)])
    for (const identity of [a, b]) expect((await broker.getSecret(requestOf(identity, path))).cache).toBe('miss')
    for (const identity of [a, b]) {
      expect(local.get(material(identity))).toBeDefined()
      expect(await store.get(await sealer.keyFor(material(identity)))).not.toBeNull()
    }

    fake.on(/^secret\/data\/shared$/, (call) => (call.token === `token-of:${jwtOf(a)}` ? denied() : undefined))
    await expect(broker.getSecret({ ...requestOf(a, path), refresh: true })).rejects.toMatchObject({ status: 403 })
    expect(local.get(material(a))).toBeUndefined()
    expect(await store.get(await sealer.keyFor(material(a)))).toBeNull()
    expect(await cache.get('secret', partsOf(a))).toBeUndefined()
    // The other identity keeps its own.
    expect(local.get(material(b))).toBeDefined()
    expect((await broker.getSecret(requestOf(b, path))).cache).toBe('hit')
  })
})

describe('entries written by an earlier version', () => {
  it('are a miss, not a 500 (the entry used to hold the values beside Vault\'s answer)', async () => {
    const { broker, cache, clock } = await scriptedBroker()
    const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'a', serviceAccountUid: 'u1', pod: 'p', podUid: 'pu' }
    const parts = [identityScope(identity), 'jwt', 'app', 'secret/data/old', '']
    await cache.set('secret', parts, { read: { values: { old: true }, metadata: undefined, secret: {} }, freshUntilMs: clock.now() + 60_000 }, 60)
    const result = await broker.getSecret(requestOf(identity, 'secret/data/old'))
    expect([result.cache, result.read.values]).toEqual(['miss', { token: `token-of:${jwtOf(identity)}`, path: 'secret/data/old' }])
  })
})

describe('stale-while-revalidate, before the entry goes stale', () => {
  it('refreshes a KV entry hit in the last tenth of its freshness in the background, so the next read past its old end is still a hit', async () => {
    const { broker, clock, fake } = await scriptedBroker()
    const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'a', serviceAccountUid: 'u1', pod: 'p', podUid: 'pu' }
    const reads = () => fake.count(/^secret\//)
    expect((await broker.getSecret(requestOf(identity, 'secret/data/hot'))).cache).toBe('miss')
    clock.advance(50_000) // 10 s left: not yet
    expect((await broker.getSecret(requestOf(identity, 'secret/data/hot'))).cache).toBe('hit')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(reads()).toBe(1)
    clock.advance(7_000) // 3 s left of 60: a hit, and one read in the background
    expect((await broker.getSecret(requestOf(identity, 'secret/data/hot'))).cache).toBe('hit')
    await vi.waitFor(() => expect(reads()).toBe(2))
    clock.advance(4_000) // past the first read's freshness
    const past = await broker.getSecret(requestOf(identity, 'secret/data/hot'))
    expect(past.cache).toBe('hit')
    expect(past.freshUntilMs).toBeGreaterThan(clock.now())
    expect(reads()).toBe(2)
  })
})

describe('the in-process level’s bound', () => {
  it('holds at most its budget in bytes, dropping the least recently used first, and no entry over an eighth of it', () => {
    const local = createLocalLevel({ maxBytes: 800, now: () => 0 })
    const entry = (bytes: number) => ({ value: bytes, stamp: 's', checkAfterMs: 10, expiresAtMs: 10, bytes })
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) local.set(name, entry(100))
    expect(local.bytes()).toBe(800)
    local.get('a') // used: now the most recent
    // Full: the least recently used go, down to a tenth below the budget with the new entry
    // (800 − 80 − 100 = 620: b and c), so the next writes evict nothing (evict-oldest.ts).
    local.set('i', entry(100))
    expect([local.get('a'), local.get('b'), local.get('c'), local.get('d'), local.bytes()]).toEqual([expect.anything(), undefined, undefined, expect.anything(), 700])
    local.set('j', entry(100))
    expect([local.get('d'), local.bytes()]).toEqual([expect.anything(), 800])
    local.set('big', entry(101))
    expect(local.get('big')).toBeUndefined()
    expect(local.bytes()).toBe(800)
  })

  it('moves an entry read again after a newer write to the end (a read of the newest moves nothing)', () => {
    const local = createLocalLevel({ maxBytes: 800, now: () => 0 })
    const entry = { value: 0, stamp: 's', checkAfterMs: 10, expiresAtMs: 10, bytes: 100 }
    for (const name of ['x1', 'x2']) local.set(name, entry)
    local.get('x1') // x2 x1
    local.get('x1') // already the newest
    local.set('y', entry) // x2 x1 y
    local.get('x1') // x2 y x1
    for (const name of ['z1', 'z2', 'z3', 'z4', 'z5']) local.set(name, entry)
    local.set('w', entry) // full: the two oldest go, x2 and y
    expect([local.get('x2'), local.get('y'), local.get('x1')]).toEqual([undefined, undefined, expect.anything()])
  })

  it('keeps exactly what a plain least-recently-used list keeps, whatever the order of reads, writes and deletes (property)', () => {
    // The reference: names in use order, oldest first (each entry 100 bytes, the budget 800).
    const name = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), name }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('get' as const), name }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), name }) },
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const local = createLocalLevel({ maxBytes: 800, now: () => 0 })
        let order: string[] = []
        for (const { kind, name } of ops) {
          if (kind === 'get') {
            const found = local.get(name) !== undefined
            expect(found).toBe(order.includes(name))
            if (found) order = [...order.filter((held) => held !== name), name]
          } else if (kind === 'delete') {
            local.delete(name)
            order = order.filter((held) => held !== name)
          } else {
            local.set(name, { value: name, stamp: 's', checkAfterMs: 10, expiresAtMs: 10, bytes: 100 })
            order = order.filter((held) => held !== name)
            // Full: the oldest go until 620 bytes are held (a tenth below the budget, room for the new one).
            if ((order.length + 1) * 100 > 800) order = order.slice(order.length - 6)
            order.push(name)
          }
          expect(local.bytes()).toBe(order.length * 100)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('verified tokens remembered', () => {
  async function setUp() {
    const issuer = await startClusterIssuer({ algorithm: 'RS256' })
    // The key set as the broker sees it: the issuer's JWKS, replaced when the test says so.
    let jwks = structuredClone(issuer.jwks) as JSONWebKeySet
    let lookup = createLocalJWKSet(jwks)
    let candidateCalls = 0
    const keys: ClusterKeys = () => ({
      async candidateKeys(header) {
        candidateCalls++
        try {
          return [await lookup({ alg: header.alg, kid: header.kid })]
        } catch {
          return []
        }
      },
    })
    const cluster = parseConfig(
      JSON.stringify({
        clusters: [{ name: 'local', issuer: issuer.issuer, audiences: ['vault-edge'], clockLeewaySeconds: 0 }],
        vault: { address: 'http://127.0.0.1:1' },
        // Only the clusters are used; the config needs one rule to be valid.
        rules: [{ cluster: 'local', namespace: 'ns', serviceAccount: 'sa', role: 'r', paths: ['secret/data/x'] }],
      }),
    ).clusters
    const clock = { ms: Date.now() }
    const deps = { clusters: cluster, keys, now: () => clock.ms }
    const reloadJwks = () => {
      jwks = structuredClone(issuer.jwks) as JSONWebKeySet
      lookup = createLocalJWKSet(jwks)
    }
    return { issuer, deps, clock, reloadJwks, candidateCalls: () => candidateCalls }
  }

  it('answers a token seen before without verifying it again, and a changed byte is another token', async () => {
    const { issuer, deps } = await setUp()
    try {
      const memo = createVerifiedTokenMemo()
      const token = await issuer.mint({ namespace: 'ns', serviceAccount: 'app', audiences: ['vault-edge'], expirationSeconds: 600 })
      const identity = await memo.verify(token, deps)
      expect(identity).toMatchObject({ namespace: 'ns', serviceAccount: 'app' })
      expect(memo.size()).toBe(1)
      expect(await memo.verify(token, deps)).toEqual(identity)
      expect(memo.size()).toBe(1)
      const last = token.at(-2) === 'A' ? 'B' : 'A'
      await expect(memo.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`, deps)).rejects.toMatchObject({ status: 401 })
    } finally {
      await issuer.stop()
    }
  })

  it('recalls only a token it verified, and only while it lasts', async () => {
    const { issuer, deps, clock } = await setUp()
    try {
      const memo = createVerifiedTokenMemo()
      const token = await issuer.mint({ namespace: 'ns', serviceAccount: 'app', audiences: ['vault-edge'], expirationSeconds: 600 })
      // recall never verifies: a token not seen before is unknown, even a valid one.
      expect(await memo.recall(token, deps)).toBeUndefined()
      expect(memo.size()).toBe(0)
      const identity = await memo.verify(token, deps)
      // Its key was confirmed just now: answered without a promise (a microtask turn per read).
      const recalled = memo.recall(token, deps)
      expect(recalled).not.toBeInstanceOf(Promise)
      expect(recalled).toEqual(identity)
      expect(await memo.recall(`${token} `, deps)).toBeUndefined()
      // Once KEY_RECHECK_MS has passed, the key set is asked again, and that takes a promise.
      clock.ms += KEY_RECHECK_MS
      const rechecked = memo.recall(token, deps)
      expect(rechecked).toBeInstanceOf(Promise)
      expect(await rechecked).toEqual(identity)
      clock.ms = (decodeJwt(token).payload.exp as number) * 1000
      expect(await memo.recall(token, deps)).toBeUndefined()
      expect(memo.size()).toBe(0)
    } finally {
      await issuer.stop()
    }
  })

  it('ends at the token\u2019s exp', async () => {
    const { issuer, deps, clock } = await setUp()
    try {
      const memo = createVerifiedTokenMemo()
      const token = await issuer.mint({ namespace: 'ns', serviceAccount: 'app', audiences: ['vault-edge'], expirationSeconds: 600 })
      const exp = decodeJwt(token).payload.exp as number
      await memo.verify(token, deps)
      clock.ms = exp * 1000 - 1000
      await expect(memo.verify(token, deps)).resolves.toMatchObject({ serviceAccount: 'app' })
      clock.ms = exp * 1000
      await expect(memo.verify(token, deps)).rejects.toMatchObject({ status: 401 })
    } finally {
      await issuer.stop()
    }
  })

  it('ends when its key leaves the cluster\u2019s JWKS', async () => {
    const { issuer, deps, clock, reloadJwks, candidateCalls } = await setUp()
    try {
      const memo = createVerifiedTokenMemo()
      const token = await issuer.mint({ namespace: 'ns', serviceAccount: 'app', audiences: ['vault-edge'], expirationSeconds: 600 })
      await memo.verify(token, deps)
      const calls = candidateCalls()
      // A remembered token asks the key set whether its key stands, at most once per KEY_RECHECK_MS.
      clock.ms += KEY_RECHECK_MS
      await memo.verify(token, deps)
      expect(candidateCalls()).toBe(calls + 1)
      await memo.verify(token, deps)
      expect(candidateCalls()).toBe(calls + 1)
      await issuer.rotateKey({ keepPrevious: false })
      reloadJwks()
      // Within the second after a confirmation the removed key still stands; then it does not.
      clock.ms += KEY_RECHECK_MS - 1
      await expect(memo.verify(token, deps)).resolves.toMatchObject({ serviceAccount: 'app' })
      clock.ms += 1
      await expect(memo.verify(token, deps)).rejects.toMatchObject({ status: 401 })
      expect(memo.size()).toBe(0)
      const fresh = await issuer.mint({ namespace: 'ns', serviceAccount: 'app', audiences: ['vault-edge'], expirationSeconds: 600 })
      clock.ms = Date.now()
      await expect(memo.verify(fresh, deps)).resolves.toMatchObject({ serviceAccount: 'app' })
    } finally {
      await issuer.stop()
    }
  })
})

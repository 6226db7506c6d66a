// Keys from a live JWKS endpoint (the kube-apiserver stand-in of test/support): cached in the
// isolate and in the SecureCache, kept while the endpoint is down, refreshed on rotation, and
// never fetched more than once per cooldown however many unknown kids arrive. Fetches are counted
// at the endpoint. Date is faked (jose's cooldown and max age read Date.now); timers are real.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SecureCache } from '../../src/cache/secure-cache.ts'
import { parseConfig, type ClusterConfig } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { JWKS_COOLDOWN_MS, JWKS_MAX_AGE_MS, JWKS_STALE_IF_ERROR_MS, createClusterKeys, type ClusterKeys } from '../../src/identity/cluster-keys.ts'
import { DISCOVERY_MAX_AGE_MS } from '../../src/identity/jwks-uri-discovery.ts'
import { verifyServiceAccountToken } from '../../src/identity/verify-service-account-token.ts'
import { startClusterIssuer, type ClusterIssuer, type MintOptions } from '../support/cluster-issuer.ts'
import { createRawLogger, createTestCache, refusalReason } from './token-lab.ts'

const START = new Date('2026-03-01T08:00:00Z')
const SECOND_MS = 1000

let issuer: ClusterIssuer
let cache: SecureCache

beforeEach(async () => {
  issuer = await startClusterIssuer({ algorithm: 'RS256' })
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(START)
  // After faking Date: the memory store and SecureCache take Date.now when they are created.
  cache = await createTestCache()
})

afterEach(async () => {
  vi.useRealTimers()
  await issuer.stop()
})

const advance = (ms: number) => vi.setSystemTime(Date.now() + ms)

function clustersWith(extra: Record<string, unknown> = {}): ClusterConfig[] {
  return parseConfig(
    JSON.stringify({ clusters: [{ name: 'local', issuer: issuer.issuer, audiences: ['vault-edge'], ...extra }], vault: { address: 'https://vault.example:8200' }, rules: [{ role: 'any', paths: ['*'] }] }),
  ).clusters
}

const mint = (options: MintOptions = {}) => issuer.mint({ namespace: 'payments', serviceAccount: 'api', audiences: ['vault-edge'], ...options })
const verifier = (keys: ClusterKeys, clusters = clustersWith()) => (token: string) => verifyServiceAccountToken(token, { clusters, keys, now: Date.now })
const newIsolate = (log = createRawLogger()) => createClusterKeys(globalThis.fetch, cache, { log })

const fetches = () => ({ discovery: issuer.discoveryFetchCount(), jwks: issuer.jwksFetchCount() })

describe('JWKS from OIDC discovery', () => {
  it('fetches the discovery document and the JWKS once, then verifies from memory', async () => {
    const verify = verifier(newIsolate())
    for (let i = 0; i < 20; i++) expect((await verify(await mint())).namespace).toBe('payments')
    expect(fetches()).toEqual({ discovery: 1, jwks: 1 })
  })

  it('keeps verifying with cached keys while the JWKS endpoint is down, past jose\'s cacheMaxAge, for a bounded time', async () => {
    const log = createRawLogger()
    const verify = verifier(newIsolate(log))
    await verify(await mint())
    issuer.setDown(true)

    // Within cacheMaxAge jose does not even ask.
    advance(JWKS_MAX_AGE_MS / 2)
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches()).toEqual({ discovery: 1, jwks: 1 })

    // Past it jose refetches, the fetch fails, and the last good keys still verify.
    advance(JWKS_MAX_AGE_MS)
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(2)
    // While down: one attempt per cooldown, not one per request.
    for (let i = 0; i < 10; i++) {
      advance(SECOND_MS)
      await verify(await mint())
    }
    expect(fetches().jwks).toBe(2)
    advance(JWKS_COOLDOWN_MS)
    await verify(await mint())
    expect(fetches().jwks).toBe(3)
    expect(log.lines.some((line) => line.includes('"level":"warn"') && line.includes('JWKS fetch failed'))).toBe(true)

    // Past the discovery document's max age too: the last good document still leads to the keys.
    advance(DISCOVERY_MAX_AGE_MS)
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches().discovery).toBe(2)

    // Keys older than the stale-if-error bound are no longer trusted.
    advance(JWKS_STALE_IF_ERROR_MS)
    expect(await refusalReason(verify(await mint()))).toMatch(/keys of cluster local unavailable/)

    // Back up: the next attempt after the cooldown restores service.
    issuer.setDown(false)
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    expect((await verify(await mint())).serviceAccount).toBe('api')
  })

  it('picks up a rotated key after exactly one JWKS fetch', async () => {
    const verify = verifier(newIsolate())
    await verify(await mint())
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    await issuer.rotateKey()
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(2)
    // The previous key is still published: its tokens keep verifying without another fetch.
    expect((await verify(await mint({ key: 'previous' }))).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(2)
  })

  it('waits out the cooldown before fetching for a key rotated just after a fetch', async () => {
    const verify = verifier(newIsolate())
    await verify(await mint())
    await issuer.rotateKey()
    const rotated = await mint()
    expect(await refusalReason(verify(rotated))).toMatch(/no key in the JWKS of cluster local matches/)
    expect(fetches().jwks).toBe(1)
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    expect((await verify(rotated)).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(2)
  })

  it('fetches at most once per cooldown however many unknown kids arrive, up or down', async () => {
    const verify = verifier(newIsolate())
    await verify(await mint())
    const forged = await Promise.all(Array.from({ length: 100 }, (_, i) => mint({ header: { kid: `forged-${i}` } })))
    const flood = async () => {
      const reasons = await Promise.all(forged.map((token) => refusalReason(verify(token))))
      for (const reason of reasons) expect(reason).toMatch(/no key in the JWKS|keys of cluster local unavailable/)
      for (const token of forged.slice(0, 20)) await refusalReason(verify(token))
    }

    await flood()
    expect(fetches().jwks).toBe(1)

    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    await flood()
    expect(fetches().jwks).toBe(2)

    issuer.setDown(true)
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    await flood()
    expect(fetches().jwks).toBe(3)
    // The real key is unaffected by the flood.
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(3)
  })

  it('asks the issuer once per cooldown while it is unreachable and nothing is cached', async () => {
    issuer.setDown(true)
    const verify = verifier(newIsolate())
    const token = await mint()
    for (let i = 0; i < 10; i++) expect(await refusalReason(verify(token))).toMatch(/keys of cluster local unavailable/)
    expect(fetches()).toEqual({ discovery: 1, jwks: 0 })
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    await refusalReason(verify(token))
    expect(fetches()).toEqual({ discovery: 2, jwks: 0 })
  })

  it('refuses a discovery document that names another issuer (OIDC Discovery §4.3)', async () => {
    const clusters = clustersWith({ issuer: `${issuer.issuer}/elsewhere` })
    const verify = verifier(newIsolate(), clusters)
    const token = await mint({ extraClaims: { iss: `${issuer.issuer}/elsewhere` } })
    expect(await refusalReason(verify(token))).toMatch(/keys of cluster local unavailable \(DiscoveryError\)/)
    expect(fetches().jwks).toBe(0)
  })

  it('goes straight to an explicit jwksUri without discovery', async () => {
    const verify = verifier(newIsolate(), clustersWith({ jwksUri: issuer.jwksUri }))
    expect((await verify(await mint())).serviceAccount).toBe('api')
    expect(fetches()).toEqual({ discovery: 0, jwks: 1 })
  })
})

describe('a fresh isolate sharing the SecureCache', () => {
  it('verifies without fetching the discovery document or the JWKS', async () => {
    await verifier(newIsolate())(await mint())
    expect(fetches()).toEqual({ discovery: 1, jwks: 1 })
    advance(5 * SECOND_MS)
    const fresh = verifier(newIsolate())
    expect((await fresh(await mint())).serviceAccount).toBe('api')
    expect(fetches()).toEqual({ discovery: 1, jwks: 1 })
  })

  it('verifies with the stored keys when the endpoint is down and they are past cacheMaxAge', async () => {
    await verifier(newIsolate())(await mint())
    issuer.setDown(true)
    advance(2 * DISCOVERY_MAX_AGE_MS)
    const fresh = verifier(newIsolate())
    expect((await fresh(await mint())).serviceAccount).toBe('api')
    expect(fetches()).toEqual({ discovery: 2, jwks: 2 })
  })

  it('shares the result of a reload: the next isolate starts with the rotated key', async () => {
    const first = verifier(newIsolate())
    await first(await mint())
    advance(JWKS_COOLDOWN_MS + SECOND_MS)
    await issuer.rotateKey()
    await first(await mint())
    expect(fetches().jwks).toBe(2)
    const fresh = verifier(newIsolate())
    expect((await fresh(await mint())).serviceAccount).toBe('api')
    expect(fetches().jwks).toBe(2)
  })

  it('fetches when its cache is another one (control)', async () => {
    await verifier(newIsolate())(await mint())
    const other = createClusterKeys(globalThis.fetch, await createTestCache())
    await verifier(other)(await mint())
    expect(fetches()).toEqual({ discovery: 2, jwks: 2 })
  })
})

// The wait for another process's fill (secret-broker.ts): when the holder met a 403 or a 404 it
// drops the entry before it releases the lock, and a waiter must not serve what it dropped.
// A scripted Vault and a cache whose lock reads the test holds back, to order the two processes.
import { describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.ts'
import type { SecureCache } from '../../src/cache/secure-cache.ts'
import { identityScope, type Identity } from '../../src/identity/identity.ts'
import { createSecretBroker } from '../../src/secret-broker.ts'
import { createLeaseRegistry } from '../../src/vault/lease-registry.ts'
import { createTokenSource } from '../../src/vault/token-source.ts'
import { authAnswer, createClock, createFakeVault, createTestCache, denied } from '../vault/support/fake-vault.ts'

const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt', path: 'secret/data/app/config', kvTtlSeconds: 60 }
const parts = [identityScope(identity), 'jwt', 'app', 'secret/data/app/config', '']
const config = { vault: { timeoutMs: 1000 }, cache: { kvTtlSeconds: 60, maxStaleSeconds: 3600 } } as Config

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('waiting for another process to fill an entry', () => {
  it('does not serve an entry as stale that the lock holder dropped because Vault denied it', async () => {
    const clock = createClock()
    const fake = createFakeVault()
    fake.on(/^auth\/jwt\/login$/, () => authAnswer(3600))
    fake.on(/^secret\//, () => ({ lease_id: '', lease_duration: 0, renewable: false, data: { data: { value: 'v1' }, metadata: { version: 1 } } }))
    const cache = await createTestCache(clock.now)
    // Lock reads wait for the test once it says so: the other process finishes in between.
    let holdLockReads: Promise<void> | undefined
    let lockRead: () => void = () => {}
    const lockReadSeen = new Promise<void>((resolve) => (lockRead = resolve))
    const ordered: SecureCache = {
      ...cache,
      get: (async (kind: Parameters<SecureCache['get']>[0], entryParts: readonly string[]) => {
        if (kind === 'lock' && holdLockReads) {
          lockRead()
          await holdLockReads
        }
        return cache.get(kind, entryParts)
      }) as SecureCache['get'],
    }
    const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
    const leases = createLeaseRegistry({ cache, now: clock.now, throttleMs: 1000 })
    const broker = createSecretBroker({ config, vault: fake.vault, cache: ordered, now: clock.now, tokens, leases })

    expect((await broker.getSecret(request)).cache).toBe('miss')
    clock.advance(61_000)
    // Another process holds the fill lock, and Vault now denies the path.
    expect((await cache.claim('lock', parts, { atMs: clock.now() }, 10)).result).toBe('acquired')
    fake.on(/^secret\//, denied)
    let release: () => void = () => {}
    holdLockReads = new Promise<void>((resolve) => (release = resolve))

    const waiting = broker.getSecret(request)
    await lockReadSeen
    await sleep(50)
    // The holder met the 403: it drops the entry, then releases the lock.
    await cache.delete('secret', parts)
    await cache.delete('lock', parts)
    release()

    await expect(waiting).rejects.toMatchObject({ status: 403, code: 'vault_denied' })
  })
})

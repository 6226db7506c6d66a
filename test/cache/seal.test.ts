// cache/seal.ts: HMAC key names, AES-256-GCM values with a random IV and the key as additional
// data, keyed ETags (SPEC §5).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSealer } from '../../src/cache/seal.ts'

const KEY = Buffer.alloc(32, 7).toString('base64')
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64')

describe('sealing cache values', () => {
  it('opens what it sealed, byte for byte, for any text', async () => {
    const sealer = await createSealer(KEY)
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string(), async (plaintext, name) => {
        const key = await sealer.keyFor(name)
        expect(await sealer.open(key, await sealer.seal(key, plaintext))).toBe(plaintext)
      }),
      { numRuns: 200 },
    )
  })

  it('seals values of any size: 100 KB, 1 MB and 3 MB of bytes that are not ASCII (issue 13)', async () => {
    const sealer = await createSealer(undefined)
    for (const length of [100_000, 1_000_000, 3_000_000]) {
      const text = 'é€😀x'.repeat(Math.ceil(length / 5)).slice(0, length)
      expect(await sealer.open('k', await sealer.seal('k', text))).toBe(text)
    }
  })

  it('uses a fresh IV per write: the same value sealed twice differs', async () => {
    const sealer = await createSealer(KEY)
    const a = await sealer.seal('k', 'same value')
    const b = await sealer.seal('k', 'same value')
    expect(a).not.toBe(b)
    expect(Buffer.from(a, 'base64').subarray(0, 12)).not.toEqual(Buffer.from(b, 'base64').subarray(0, 12))
  })

  it('binds a value to its key: copied under another key it does not open', async () => {
    const sealer = await createSealer(KEY)
    const sealed = await sealer.seal(await sealer.keyFor('identity A'), 'A’s secret')
    expect(await sealer.open(await sealer.keyFor('identity B'), sealed)).toBeNull()
  })

  it('opens nothing sealed under another CACHE_ENCRYPTION_KEY, nor anything tampered with', async () => {
    const sealer = await createSealer(KEY)
    const other = await createSealer(OTHER_KEY)
    const sealed = await sealer.seal('k', 'value')
    expect(await other.open('k', sealed)).toBeNull()
    const bytes = Buffer.from(sealed, 'base64')
    for (const index of [0, 12, bytes.length - 1]) {
      const tampered = Buffer.from(bytes)
      tampered[index]! ^= 1
      expect(await sealer.open('k', tampered.toString('base64'))).toBeNull()
    }
    expect(await sealer.open('k', 'not base64 at all!')).toBeNull()
    expect(await sealer.open('k', '')).toBeNull()
  })
})

describe('cache key names', () => {
  it('are 64 hex digits that depend on the encryption key, and show nothing of their material', async () => {
    const material = JSON.stringify(['secret', 'prod', 'payments', 'api', 'secret/data/payments/db'])
    const name = await (await createSealer(KEY)).keyFor(material)
    expect(name).toMatch(/^[0-9a-f]{64}$/)
    expect(await (await createSealer(KEY)).keyFor(material)).toBe(name)
    expect(await (await createSealer(OTHER_KEY)).keyFor(material)).not.toBe(name)
  })

  it('are the same whether the key is given as base64 (openssl rand -base64 32), base64url or hex', async () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 251) % 256))
    const names = await Promise.all(
      [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')].map(async (key) => (await createSealer(key)).keyFor('m')),
    )
    expect(new Set(names).size).toBe(1)
  })

  it('differ per process when no key is configured (the in-memory default)', async () => {
    expect(await (await createSealer(undefined)).keyFor('m')).not.toBe(await (await createSealer(undefined)).keyFor('m'))
  })
})

describe('ETag fingerprints', () => {
  it('are keyed: a short secret cannot be guessed from its ETag offline', async () => {
    const body = new TextEncoder().encode('PASSWORD=1234')
    const a = Buffer.from(await (await createSealer(KEY)).fingerprint(body))
    const b = Buffer.from(await (await createSealer(OTHER_KEY)).fingerprint(body))
    const plain = Buffer.from(await crypto.subtle.digest('SHA-256', body))
    expect(a).not.toEqual(b)
    expect(a).not.toEqual(plain)
    expect(Buffer.from(await (await createSealer(KEY)).fingerprint(body))).toEqual(a)
  })
})

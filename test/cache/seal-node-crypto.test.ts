// The Node entry seals the cache through node:crypto (src/adapters/node-symmetric-crypto.ts), a
// Worker through WebCrypto: sharing one Redis, each must name, open and fingerprint exactly as
// the other does, and refuse what the other would refuse.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nodeSha256Hex, nodeSymmetricCrypto } from '../../src/adapters/node-symmetric-crypto.ts'
import { sha256Hex } from '../../src/identity/sha256-hex.ts'
import { createSealer } from '../../src/cache/seal.ts'

const KEY = Buffer.alloc(32, 7).toString('base64')
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64')

describe('node:crypto sealing, next to WebCrypto', () => {
  it('names, fingerprints and pseudonyms are the same bytes', async () => {
    const [web, node] = await Promise.all([createSealer(KEY), createSealer(KEY, nodeSymmetricCrypto)])
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (text) => {
        expect(await node.keyFor(text)).toBe(await web.keyFor(text))
        expect(await node.pseudonymFor('lease', text)).toBe(await web.pseudonymFor('lease', text))
        const bytes = new TextEncoder().encode(text)
        expect(Buffer.from(await node.fingerprint(bytes))).toEqual(Buffer.from(await web.fingerprint(bytes)))
      }),
      { numRuns: 100 },
    )
  })

  it('each opens what the other sealed, for any text and name', async () => {
    const [web, node] = await Promise.all([createSealer(KEY), createSealer(KEY, nodeSymmetricCrypto)])
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string(), async (plaintext, name) => {
        expect(await web.open(name, await node.seal(name, plaintext))).toBe(plaintext)
        expect(await node.open(name, await web.seal(name, plaintext))).toBe(plaintext)
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a value under another name, another key, tampered or truncated', async () => {
    const node = await createSealer(KEY, nodeSymmetricCrypto)
    const other = await createSealer(OTHER_KEY, nodeSymmetricCrypto)
    const sealed = await node.seal('name-a', 'secret value')
    expect(await node.open('name-b', sealed)).toBeNull()
    expect(await other.open('name-a', sealed)).toBeNull()
    const bytes = Buffer.from(sealed, 'base64')
    for (const index of [0, 12, bytes.length - 1]) {
      const tampered = Buffer.from(bytes)
      tampered[index]! ^= 1
      expect(await node.open('name-a', tampered.toString('base64'))).toBeNull()
    }
    for (const length of [0, 5, 12, 20, bytes.length - 1]) expect(await node.open('name-a', bytes.subarray(0, length).toString('base64'))).toBeNull()
  })

  it('reads base64 as Buffer does: a stray character outside the alphabet is skipped, any change to the bytes is refused', async () => {
    const node = await createSealer(KEY, nodeSymmetricCrypto)
    const sealed = await node.seal('name-a', 'secret value')
    expect(await node.open('name-a', `${sealed.slice(0, 4)}!${sealed.slice(4)}`)).toBe('secret value')
    expect(await node.open('name-a', `${sealed.slice(0, 4)}A${sealed.slice(4)}`)).toBeNull()
  })

  it('derives the same keys as before (HKDF deriveKey): Redis entries written by an earlier version still open', async () => {
    const hkdf = await crypto.subtle.importKey('raw', Buffer.from(KEY, 'base64'), 'HKDF', false, ['deriveKey'])
    const derive = (info: string, algorithm: HmacImportParams | AesKeyGenParams, usages: KeyUsage[]) =>
      crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: new TextEncoder().encode(`vault-edge ${info}`) }, hkdf, algorithm, false, usages)
    const nameKey = await derive('cache key names v1', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign'])
    const valueKey = await derive('cache values v1', { name: 'AES-GCM', length: 256 }, ['encrypt'])
    const name = Buffer.from(await crypto.subtle.sign('HMAC', nameKey, new TextEncoder().encode('["secret","x"]'))).toString('hex')
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(name) }, valueKey, new TextEncoder().encode('old entry'))
    const sealed = Buffer.concat([iv, Buffer.from(ciphertext)]).toString('base64')
    for (const sealer of await Promise.all([createSealer(KEY), createSealer(KEY, nodeSymmetricCrypto)])) {
      expect(await sealer.keyFor('["secret","x"]')).toBe(name)
      expect(await sealer.open(name, sealed)).toBe('old entry')
    }
  })

  it('the verified-token memo key is the same SHA-256 through node:crypto as through @noble/hashes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (token) => {
        expect(nodeSha256Hex(token)).toBe(sha256Hex(token))
      }),
      { numRuns: 300 },
    )
    expect(nodeSha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

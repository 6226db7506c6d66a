// src/identity/sha256-hex.ts: the memo's own SHA-256 says what node:crypto says, for any string:
// ASCII tokens, every length around the 64-byte block and its padding, non-ASCII and lone
// surrogates (as UTF-8 encodes them), and strings too long for its buffer.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/identity/sha256-hex.ts'

const reference = (text: string) => createHash('sha256').update(new TextEncoder().encode(text)).digest('hex')

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  })

  it('says what node:crypto says for every length from 0 to 200 bytes', () => {
    for (let length = 0; length <= 200; length++) {
      const text = 'eyJ.-_'.repeat(40).slice(0, length)
      expect(sha256Hex(text)).toBe(reference(text))
    }
  })

  it('says what node:crypto says for random strings, one after another', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.base64String({ maxLength: 2000 })), { minLength: 1, maxLength: 5 }), (texts) => {
        for (const text of texts) expect(sha256Hex(text)).toBe(reference(text))
      }),
      { numRuns: 300 },
    )
  })

  it('hashes a string too long for its buffer too', () => {
    const long = 'a'.repeat(3 * 16 * 1024 + 1)
    expect(sha256Hex(long)).toBe(reference(long))
    expect(sha256Hex('ü'.repeat(30_000))).toBe(reference('ü'.repeat(30_000)))
    expect(sha256Hex('abc')).toBe(reference('abc'))
  })
})

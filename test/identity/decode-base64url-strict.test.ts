import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBase64urlStrict } from '../../src/identity/decode-base64url-strict.ts'

const encode = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

describe('decodeBase64urlStrict', () => {
  it('decodes what base64url encoding produced, byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(decodeBase64urlStrict(encode(bytes))).toEqual(bytes)
      }),
    )
  })

  it('accepts exactly one spelling of every byte string', () => {
    // Whatever it accepts must be the canonical encoding of what it decoded to.
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_=+/-]{0,40}$/), (text) => {
        const bytes = decodeBase64urlStrict(text)
        if (bytes !== undefined) expect(encode(bytes)).toBe(text)
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses padding, the standard alphabet and unused bits that are set', () => {
    expect(decodeBase64urlStrict('YQ')).toEqual(new Uint8Array([0x61]))
    expect(decodeBase64urlStrict('YQ==')).toBeUndefined()
    expect(decodeBase64urlStrict('YR')).toBeUndefined() // atob('YR==') is also "a"
    expect(decodeBase64urlStrict('YWI')).toEqual(new Uint8Array([0x61, 0x62]))
    expect(decodeBase64urlStrict('YWJ')).toBeUndefined()
    expect(decodeBase64urlStrict('+/8')).toBeUndefined()
    expect(decodeBase64urlStrict('-_8')).toEqual(new Uint8Array([0xfb, 0xff]))
    expect(decodeBase64urlStrict('Y')).toBeUndefined()
    expect(decodeBase64urlStrict('YW I')).toBeUndefined()
  })
})

// The Deno entry checks RS256 signatures with BigInt arithmetic (src/adapters/deno-rs256-verify.ts)
// instead of the runtime's crypto.subtle.verify: for any key, data and signature it must say what
// WebCrypto says, refuse every encoding but the one canonical block, and leave every other
// algorithm and key to WebCrypto.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createDenoSignatureVerifier, createFastRs256Verify } from '../../src/adapters/deno-rs256-verify.ts'

const RS256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
const F4 = new Uint8Array([1, 0, 1])
const subtle = crypto.subtle
let runtimeVerifies = 0
const countingSubtle = {
  verify: (...args: Parameters<SubtleCrypto['verify']>) => (runtimeVerifies++, subtle.verify(...args)),
  exportKey: subtle.exportKey.bind(subtle),
} as SubtleCrypto
const fastVerify = createFastRs256Verify(countingSubtle)

interface KeyPair {
  privateKey: CryptoKey
  /** As jose's JWKS imports a cluster key: from its JWK, extractable, for verify only. */
  publicKey: CryptoKey
  jwk: JsonWebKey
}

async function rsaKeyPair(modulusLength: number, publicExponent = F4): Promise<KeyPair> {
  const pair = await subtle.generateKey({ ...RS256, modulusLength, publicExponent }, true, ['sign', 'verify'])
  const jwk = await subtle.exportKey('jwk', pair.publicKey)
  const publicKey = await subtle.importKey('jwk', jwk, RS256, true, ['verify'])
  return { privateKey: pair.privateKey, publicKey, jwk }
}

const bigIntOf = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`)
const bytesOf = (value: bigint, length: number) => new Uint8Array(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'))

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n
  for (let power = base % modulus, rest = exponent; rest > 0n; rest >>= 1n, power = (power * power) % modulus) if (rest & 1n) result = (result * power) % modulus
  return result
}

/** A "signature" of an arbitrary encoded block, made with the private exponent: forged encodings. */
async function rawSignature(pair: KeyPair, encoded: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const privateJwk = await subtle.exportKey('jwk', pair.privateKey)
  const number = (field: string) => bigIntOf(new Uint8Array(Buffer.from(field, 'base64url')))
  const modulus = number(privateJwk.n!)
  return bytesOf(modPow(bigIntOf(encoded), number(privateJwk.d!), modulus), encoded.byteLength)
}

const DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex')
const DIGEST_INFO_WITHOUT_NULL = Buffer.from('302f300b0609608648016503040201' + '0420', 'hex')

/** EMSA-PKCS1-v1_5 of `data`, with the parts an attacker would bend given as options. */
function encodedBlock(data: Uint8Array, length: number, options: { digestInfo?: Buffer; padding?: number; trailing?: number } = {}): Uint8Array {
  const digest = new Uint8Array(createHash('sha256').update(data).digest())
  const digestInfo = options.digestInfo ?? DIGEST_INFO
  const trailing = new Uint8Array(options.trailing ?? 0).fill(0x41)
  const padding = options.padding ?? length - 3 - digestInfo.byteLength - digest.byteLength - trailing.byteLength
  const block = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(padding, 0xff), Buffer.from([0]), digestInfo, digest, trailing])
  return new Uint8Array(Buffer.concat([Buffer.alloc(length - block.byteLength), block]))
}

async function bothSay(key: CryptoKey, signature: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const [fast, web] = await Promise.all([fastVerify(RS256, key, signature, data), subtle.verify(RS256, key, signature, data)])
  expect(fast).toBe(web)
  return fast
}

describe('RS256 verification with BigInt, next to WebCrypto', () => {
  let keys: KeyPair[]
  beforeAll(async () => {
    keys = await Promise.all([rsaKeyPair(2048), rsaKeyPair(2048), rsaKeyPair(3072), rsaKeyPair(4096)])
  })

  it('accepts what the key signed, and nothing signed by another key or over other data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.nat({ max: 3 }), async (data, index) => {
        const { privateKey, publicKey } = keys[index]!
        const signature = new Uint8Array(await subtle.sign(RS256, privateKey, data))
        const before = runtimeVerifies
        expect(await bothSay(publicKey, signature, data)).toBe(true)
        expect(runtimeVerifies).toBe(before)
        expect(await bothSay(keys[(index + 1) % 4]!.publicKey, signature, data)).toBe(false)
        expect(await bothSay(publicKey, signature, new Uint8Array([...data, 0]))).toBe(false)
      }),
      { numRuns: 40 },
    )
  })

  it('refuses a signature with any bit changed, cut short, lengthened or not below the modulus', async () => {
    const { privateKey, publicKey, jwk } = keys[0]!
    const data = new TextEncoder().encode('header.payload')
    const signature = new Uint8Array(await subtle.sign(RS256, privateKey, data))
    for (const bit of [0, 7, 8, 1000, 2047]) {
      const changed = signature.slice()
      changed[bit >> 3]! ^= 1 << (bit & 7)
      expect(await bothSay(publicKey, changed, data)).toBe(false)
    }
    expect(await bothSay(publicKey, signature.subarray(1), data)).toBe(false)
    expect(await bothSay(publicKey, new Uint8Array([0, ...signature]), data)).toBe(false)
    expect(await fastVerify(RS256, publicKey, new Uint8Array(0), data)).toBe(false)
    const modulus = new Uint8Array(Buffer.from(jwk.n!, 'base64url'))
    expect(await fastVerify(RS256, publicKey, modulus, data)).toBe(false)
    expect(await fastVerify(RS256, publicKey, new Uint8Array(modulus.byteLength).fill(0xff), data)).toBe(false)
  })

  it('accepts the canonical block and refuses bent encodings (no NULL, short padding, bytes after the digest)', async () => {
    const pair = keys[0]!
    const data = new TextEncoder().encode('header.payload')
    const canonical = await rawSignature(pair, encodedBlock(data, 256))
    expect(await bothSay(pair.publicKey, canonical, data)).toBe(true)
    for (const bent of [{ digestInfo: DIGEST_INFO_WITHOUT_NULL }, { padding: 7 }, { padding: 0 }, { trailing: 8 }]) {
      expect(await fastVerify(RS256, pair.publicKey, await rawSignature(pair, encodedBlock(data, 256, bent)), data)).toBe(false)
    }
  })

  it('accepts a valid signature whose first byte is 0 (still k bytes long)', async () => {
    const { privateKey, publicKey } = keys[0]!
    for (let attempt = 0; ; attempt++) {
      const data = new TextEncoder().encode(`data ${attempt}`)
      const signature = new Uint8Array(await subtle.sign(RS256, privateKey, data))
      if (signature[0] !== 0) continue
      expect(await bothSay(publicKey, signature, data)).toBe(true)
      return
    }
  }, 120_000)

  it('leaves other algorithms, hashes, exponents and keys it cannot read to WebCrypto', async () => {
    const data = new TextEncoder().encode('header.payload')
    const rs384 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }
    const pair384 = await subtle.generateKey({ ...rs384, modulusLength: 2048, publicExponent: F4 }, false, ['sign', 'verify'])
    const ps256 = await subtle.generateKey({ name: 'RSA-PSS', hash: 'SHA-256', modulusLength: 2048, publicExponent: F4 }, false, ['sign', 'verify'])
    const es256 = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
    const exponent3 = await rsaKeyPair(2048, new Uint8Array([3]))
    const { privateKey, jwk } = keys[0]!
    const notExtractable = await subtle.importKey('jwk', jwk, RS256, false, ['verify'])
    const cases: [AlgorithmIdentifier | RsaPssParams | EcdsaParams, CryptoKey, CryptoKey][] = [
      [rs384, pair384.privateKey, pair384.publicKey],
      [{ name: 'RSA-PSS', saltLength: 32 } as RsaPssParams, ps256.privateKey, ps256.publicKey],
      [{ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, es256.privateKey, es256.publicKey],
      [RS256, exponent3.privateKey, exponent3.publicKey],
      [RS256, privateKey, notExtractable],
    ]
    for (const [algorithm, signingKey, verifyingKey] of cases) {
      const signature = new Uint8Array(await subtle.sign(algorithm, signingKey, data))
      const before = runtimeVerifies
      expect(await fastVerify(algorithm, verifyingKey, signature, data)).toBe(true)
      signature[10]! ^= 1
      expect(await fastVerify(algorithm, verifyingKey, signature, data)).toBe(false)
      expect(runtimeVerifies).toBe(before + 2)
    }
    // A private key or one without the verify usage: WebCrypto's own refusal, not a quiet answer.
    await expect(fastVerify(RS256, privateKey, new Uint8Array(256), data)).rejects.toThrow()
  })
})

describe('the Deno entry\u2019s verifySignature', () => {
  const verifier = createDenoSignatureVerifier(subtle)
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

  async function signedJws(pair: KeyPair, alg = 'RS256') {
    const encodedHeader = encode({ alg, kid: 'k' })
    const encodedPayload = encode({ sub: 'system:serviceaccount:ns:app' })
    const signature = Buffer.from(await subtle.sign(RS256, pair.privateKey, Buffer.from(`${encodedHeader}.${encodedPayload}`))).toString('base64url')
    return { token: `${encodedHeader}.${encodedPayload}.${signature}`, encodedHeader, encodedPayload, signature, header: {}, payload: {} }
  }

  it('says what WebCrypto says of an RS256 token signed by a 2048-bit cluster key, and of one changed', async () => {
    const pair = await rsaKeyPair(2048)
    const jws = await signedJws(pair)
    expect(await verifier('RS256', pair.publicKey, jws)).toBe(true)
    const flipped = jws.signature.at(-2) === 'A' ? 'B' : 'A'
    expect(await verifier('RS256', pair.publicKey, { ...jws, signature: `${jws.signature.slice(0, -2)}${flipped}${jws.signature.at(-1)}` })).toBe(false)
    expect(await verifier('RS256', pair.publicKey, { ...jws, encodedPayload: encode({ sub: 'system:serviceaccount:ns:admin' }) })).toBe(false)
  })

  it('leaves to jose what jose would refuse or check itself: other algs, keys under 2048 bits, keys for another hash', async () => {
    const small = await rsaKeyPair(1024)
    expect(await verifier('RS256', small.publicKey, await signedJws(small))).toBeUndefined()
    const pair = await rsaKeyPair(2048)
    const jws = await signedJws(pair)
    expect(await verifier('RS384', pair.publicKey, jws)).toBeUndefined()
    expect(await verifier('PS256', pair.publicKey, jws)).toBeUndefined()
    expect(await verifier('none', pair.publicKey, jws)).toBeUndefined()
    const sha384Key = await subtle.importKey('jwk', { ...pair.jwk, alg: 'RS384' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, true, ['verify'])
    expect(await verifier('RS256', sha384Key, jws)).toBeUndefined()
  })
})

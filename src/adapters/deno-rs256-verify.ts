// RS256 signatures checked with one BigInt modular exponentiation, for the Deno entry's
// verifySignature (src/identity/signature-verifier.ts; jose still checks the claims): Deno's
// crypto.subtle.verify for RSASSA-PKCS1-v1_5 (Rust's `rsa` crate) cost ~450 µs of CPU per check
// on the (2.5x slower) dev machine, node:crypto's verify in Deno ~400 µs, this ~100 µs; the
// signature check was ~35 % of a Deno request with a new token (issue 9 profile). Node's WebCrypto
// (OpenSSL) is fast; this is for Deno only.
//
// The check is RFC 8017 §8.2.2 with the encoding built and compared whole (EMSA-PKCS1-v1_5 of the
// SHA-256 of the data, with the NULL parameters DigestInfo, as Deno's and Go's verifiers require):
// nothing of the decrypted block is parsed, so no padding or ASN.1 leniency can be exploited. Any
// other algorithm, hash, exponent or key that cannot be exported goes to the runtime's verify.
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import { joseWouldUse, type SignatureVerifier } from '../identity/signature-verifier.ts'

type Verify = SubtleCrypto['verify']

interface RsaPublicNumbers {
  modulus: bigint
  /** Length of the modulus in bytes (k): a signature is exactly this long. */
  length: number
  /** EMSA-PKCS1-v1_5 for this k with the 32 digest bytes zero: the digest is added into the low 256 bits. */
  encodingWithoutDigest: bigint
}

/** DER of DigestInfo { sha256 OID, NULL } followed by the 32-byte digest (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex')
const F4 = 65537n
/** 0x00 0x01, at least 8 bytes 0xff, 0x00, then DigestInfo: k ≥ 11 + 51. */
const MIN_MODULUS_BYTES = 11 + SHA256_DIGEST_INFO_PREFIX.byteLength + 32

const bytesOf = (data: BufferSource): Uint8Array =>
  data instanceof Uint8Array ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)

const bigIntOf = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') || '0'}`)

const algorithmName = (algorithm: AlgorithmIdentifier): string => (typeof algorithm === 'string' ? algorithm : algorithm.name)

function isRs256PublicKey(key: CryptoKey): boolean {
  const algorithm = key.algorithm as RsaHashedKeyAlgorithm
  return key.type === 'public' && algorithm.name === 'RSASSA-PKCS1-v1_5' && algorithm.hash?.name === 'SHA-256' && key.usages.includes('verify')
}

/** EMSA-PKCS1-v1_5-ENCODE for k bytes (RFC 8017 §9.2) with the digest left zero. */
function encodingWithoutDigest(length: number): bigint {
  const encoded = Buffer.alloc(length, 0xff)
  encoded[0] = 0x00
  encoded[1] = 0x01
  const digestInfoAt = length - SHA256_DIGEST_INFO_PREFIX.byteLength - 32
  encoded[digestInfoAt - 1] = 0x00
  SHA256_DIGEST_INFO_PREFIX.copy(encoded, digestInfoAt)
  encoded.fill(0, length - 32)
  return bigIntOf(encoded)
}

/** signature^65537 mod n: sixteen squarings and one multiplication. */
function raiseToF4(signature: bigint, modulus: bigint): bigint {
  let power = signature
  for (let i = 0; i < 16; i++) power = (power * power) % modulus
  return (power * signature) % modulus
}

function verifyRs256(numbers: RsaPublicNumbers, signature: Uint8Array, data: Uint8Array): boolean {
  // RFC 8017 §8.2.2 step 1 and RSAVP1 step 1: exactly k bytes, and a representative below n.
  if (signature.byteLength !== numbers.length) return false
  const representative = bigIntOf(signature)
  if (representative >= numbers.modulus) return false
  // The signature must decrypt to exactly the encoding of this data's digest (the low 256 bits).
  const expected = numbers.encodingWithoutDigest + BigInt(`0x${createHash('sha256').update(data).digest('hex')}`)
  return raiseToF4(representative, numbers.modulus) === expected
}

const decodeBase64url = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'))

/**
 * crypto.subtle.verify with RS256 on public keys with e = 65537 checked by verifyRs256; every
 * other call (and any key whose numbers cannot be read) by `subtle`'s own verify.
 */
export function createFastRs256Verify(subtle: SubtleCrypto): Verify {
  const runtimeVerify: Verify = subtle.verify.bind(subtle)
  // A cluster's keys are imported once per JWKS load, so each key is exported once.
  const numbersOf = new WeakMap<CryptoKey, Promise<RsaPublicNumbers | undefined>>()
  const exportNumbers = async (key: CryptoKey): Promise<RsaPublicNumbers | undefined> => {
    try {
      const jwk = await subtle.exportKey('jwk', key)
      if (!jwk.n || !jwk.e || bigIntOf(decodeBase64url(jwk.e)) !== F4) return undefined
      const modulus = bigIntOf(decodeBase64url(jwk.n))
      const length = Math.ceil(modulus.toString(16).length / 2)
      return length >= MIN_MODULUS_BYTES ? { modulus, length, encodingWithoutDigest: encodingWithoutDigest(length) } : undefined
    } catch {
      return undefined
    }
  }
  return async (algorithm, key, signature, data) => {
    if (algorithmName(algorithm) !== 'RSASSA-PKCS1-v1_5' || !isRs256PublicKey(key)) return runtimeVerify(algorithm, key, signature, data)
    let numbers = numbersOf.get(key)
    if (numbers === undefined) numbersOf.set(key, (numbers = exportNumbers(key)))
    const known = await numbers
    if (known === undefined) return runtimeVerify(algorithm, key, signature, data)
    return verifyRs256(known, bytesOf(signature), bytesOf(data))
  }
}

const RS256: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }

/**
 * The Deno entry's verifySignature (src/identity/signature-verifier.ts): RS256 with a key jose
 * would take goes to the check above; every other alg and key is left to jose.
 */
export function createDenoSignatureVerifier(subtle: SubtleCrypto): SignatureVerifier {
  const fastVerify = createFastRs256Verify(subtle)
  return (alg, key, jws) => {
    if (alg !== 'RS256' || !joseWouldUse(alg, key)) return undefined
    const signingInput = new Uint8Array(Buffer.from(`${jws.encodedHeader}.${jws.encodedPayload}`, 'latin1'))
    return fastVerify(RS256, key, decodeBase64url(jws.signature), signingInput)
  }
}

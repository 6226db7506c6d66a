// JWS signatures through node:crypto's synchronous verify (issue 9): crypto.subtle.verify on Node
// pays ~50–90 µs of threadpool dispatch per call on top of the ~35 µs an RSA-2048 verify takes
// (measured here: 88–125 µs vs 32–35 µs of CPU). Same OpenSSL underneath, same answers: what jose
// would check first about the key (its algorithm, curve and hash, usage, type, RSA modulus of at
// least 2048 bits; jose lib/key.js) is checked here, and a key it would refuse is left to jose.
import { constants, KeyObject, verify } from 'node:crypto'
import type { SignatureVerifier } from '../identity/signature-verifier.ts'

interface Scheme {
  /** The CryptoKey algorithm jose requires of the key (its checkCryptoKey). */
  key: { name: string; hash?: string; namedCurve?: string }
  hash: string
  /** RSA-PSS: the salt is the hash's length (RFC 7518 §3.5). */
  pssSaltBytes?: number
}

const rsa = (name: string, bits: number, pssSaltBytes?: number): Scheme => ({ key: { name, hash: `SHA-${bits}` }, hash: `sha${bits}`, pssSaltBytes })
const ecdsa = (namedCurve: string, bits: number): Scheme => ({ key: { name: 'ECDSA', namedCurve }, hash: `sha${bits}` })

/** RFC 7518 §3.1; EdDSA and anything else stays with jose. */
const SCHEMES: Record<string, Scheme> = {
  RS256: rsa('RSASSA-PKCS1-v1_5', 256),
  RS384: rsa('RSASSA-PKCS1-v1_5', 384),
  RS512: rsa('RSASSA-PKCS1-v1_5', 512),
  PS256: rsa('RSA-PSS', 256, 32),
  PS384: rsa('RSA-PSS', 384, 48),
  PS512: rsa('RSA-PSS', 512, 64),
  ES256: ecdsa('P-256', 256),
  ES384: ecdsa('P-384', 384),
  ES512: ecdsa('P-521', 512),
}
const MIN_RSA_MODULUS_BITS = 2048

/** Would jose's prepareKey/checkCryptoKey/checkModulusLength accept this key for the scheme? */
function joseWouldUse(key: CryptoKey, scheme: Scheme): boolean {
  const algorithm = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number }
  if (key.type !== 'public' || !key.usages.includes('verify') || algorithm.name !== scheme.key.name) return false
  if (scheme.key.hash !== undefined && algorithm.hash?.name !== scheme.key.hash) return false
  if (scheme.key.namedCurve !== undefined && algorithm.namedCurve !== scheme.key.namedCurve) return false
  if (scheme.key.name !== 'ECDSA' && !(typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= MIN_RSA_MODULUS_BITS)) return false
  return true
}

export function createNodeSignatureVerifier(): SignatureVerifier {
  // The key sets hand out the same CryptoKey until they reload: convert each once.
  const keyObjects = new WeakMap<CryptoKey, KeyObject>()
  return (alg, key, jws) => {
    const scheme = Object.hasOwn(SCHEMES, alg) ? SCHEMES[alg]! : undefined
    if (scheme === undefined || !joseWouldUse(key, scheme)) return undefined
    let keyObject = keyObjects.get(key)
    if (keyObject === undefined) {
      keyObject = KeyObject.from(key)
      keyObjects.set(key, keyObject)
    }
    const signingInput = Buffer.from(`${jws.encodedHeader}.${jws.encodedPayload}`, 'latin1')
    const signature = Buffer.from(jws.signature, 'base64url')
    try {
      return verify(scheme.hash, signingInput, {
        key: keyObject,
        ...(scheme.pssSaltBytes === undefined ? {} : { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pssSaltBytes }),
        ...(scheme.key.name === 'ECDSA' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      }, signature)
    } catch {
      // WebCrypto rejecting (a malformed signature): jose reports a signature that does not verify.
      return false
    }
  }
}

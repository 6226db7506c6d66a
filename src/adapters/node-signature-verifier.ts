// JWS signatures through node:crypto's synchronous verify (issue 9): crypto.subtle.verify on Node
// pays ~50–90 µs of threadpool dispatch per call on top of the ~35 µs an RSA-2048 verify takes
// (measured here: 88–125 µs vs 32–35 µs of CPU). Same OpenSSL underneath, same answers: what jose
// would check first about the key (its algorithm, curve and hash, usage, type, RSA modulus of at
// least 2048 bits; jose lib/key.js) is checked here, and a key it would refuse is left to jose.
import { constants, KeyObject, verify } from 'node:crypto'
import { joseWouldUse, type SignatureVerifier } from '../identity/signature-verifier.ts'

/** node:crypto's hash, and for RSA-PSS the salt length (the hash's, RFC 7518 §3.5), per JWS alg. */
const SCHEMES: Record<string, { hash: string; pssSaltBytes?: number }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pssSaltBytes: 32 },
  PS384: { hash: 'sha384', pssSaltBytes: 48 },
  PS512: { hash: 'sha512', pssSaltBytes: 64 },
  ES256: { hash: 'sha256' },
  ES384: { hash: 'sha384' },
  ES512: { hash: 'sha512' },
}

export function createNodeSignatureVerifier(): SignatureVerifier {
  // The key sets hand out the same CryptoKey until they reload: convert each once.
  const keyObjects = new WeakMap<CryptoKey, KeyObject>()
  return (alg, key, jws) => {
    const scheme = Object.hasOwn(SCHEMES, alg) ? SCHEMES[alg]! : undefined
    if (scheme === undefined || !joseWouldUse(alg, key)) return undefined
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
        ...(alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      }, signature)
    } catch {
      // WebCrypto rejecting (a malformed signature): jose reports a signature that does not verify.
      return false
    }
  }
}

// A seam for the one expensive step of a verification: checking a JWS signature with a cluster
// key. jose does it with crypto.subtle.verify, which on Node costs ~50–90 µs of threadpool
// dispatch on top of the RSA verify itself (NOTES.md; issue 9: most of a new token's CPU); a
// runtime with a synchronous primitive gives one (src/adapters/node-signature-verifier.ts).
// jose still checks the claims (verify-service-account-token.ts), so only the signature moves.
import type { CompactJws } from './parse-compact-jws.ts'

/**
 * Whether `key` signed `jws` under `alg`: true or false as jose's jwtVerify would decide it
 * (including jose's own checks on the key), or undefined to leave the token to jose.
 */
export type SignatureVerifier = (alg: string, key: CryptoKey, jws: CompactJws) => boolean | undefined | Promise<boolean | undefined>

/** The CryptoKey algorithm jose requires of a key for each JWS alg it verifies (its checkCryptoKey; RFC 7518 §3.1). */
const KEY_ALGORITHMS: Record<string, { name: string; hash?: string; namedCurve?: string }> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
}
const MIN_RSA_MODULUS_BITS = 2048

/**
 * Would jose's prepareKey/checkCryptoKey/checkModulusLength accept this key for `alg` (type, usage,
 * algorithm with its hash or curve, an RSA modulus of at least 2048 bits; jose lib/key.js)? A
 * verifier leaves any other key to jose, so that jose refuses it exactly as before. EdDSA and
 * unknown algs: no.
 */
export function joseWouldUse(alg: string, key: CryptoKey): boolean {
  const expected = Object.hasOwn(KEY_ALGORITHMS, alg) ? KEY_ALGORITHMS[alg]! : undefined
  if (expected === undefined) return false
  const algorithm = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number }
  if (key.type !== 'public' || !key.usages.includes('verify') || algorithm.name !== expected.name) return false
  if (expected.hash !== undefined && algorithm.hash?.name !== expected.hash) return false
  if (expected.namedCurve !== undefined && algorithm.namedCurve !== expected.namedCurve) return false
  if (expected.name !== 'ECDSA' && !(typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= MIN_RSA_MODULUS_BITS)) return false
  return true
}

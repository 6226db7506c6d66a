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
export type SignatureVerifier = (alg: string, key: CryptoKey, jws: CompactJws) => boolean | undefined

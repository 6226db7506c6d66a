// Test-only tools for src/identity: a signer that holds its private key (so a test can sign any
// header and payload bytes, duplicate members included), kube-shaped claims, the real-token
// fixtures, and an in-memory SecureCache.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createSealer } from '../../src/cache/seal.ts'
import { createSecureCache, type SecureCache } from '../../src/cache/secure-cache.ts'
import { expect } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { Logger } from '../../src/logger.ts'

export const b64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url')
export const b64urlJson = (value: unknown) => b64url(JSON.stringify(value))

export type LabAlgorithm = 'RS256' | 'ES256'

export interface LabSigner {
  alg: LabAlgorithm
  kid: string
  /** Public JWK as kube-apiserver publishes it (use, kty, kid, alg, …). */
  jwk: JWK
  publicKeyPem: string
  /** Signs header and payload as given: objects are JSON-encoded, strings used byte for byte. */
  sign(header: object | string, payload: object | string): Promise<string>
}

const SUBTLE_SIGNING = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
} as const

export async function createLabSigner(alg: LabAlgorithm = 'RS256'): Promise<LabSigner> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicKeyPem = await exportSPKI(publicKey)
  const der = Buffer.from(publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  // kube-apiserver's keyIDFromPublicKey: base64url(SHA-256(DER SubjectPublicKeyInfo)).
  const kid = createHash('sha256').update(der).digest('base64url')
  const jwk = { use: 'sig', ...(await exportJWK(publicKey)), kid, alg }
  return {
    alg,
    kid,
    jwk,
    publicKeyPem,
    async sign(header, payload) {
      const encode = (part: object | string) => b64url(typeof part === 'string' ? part : JSON.stringify(part))
      const signingInput = `${encode(header)}.${encode(payload)}`
      const signature = await crypto.subtle.sign(SUBTLE_SIGNING[alg], privateKey, new TextEncoder().encode(signingInput))
      return `${signingInput}.${b64url(new Uint8Array(signature))}`
    },
  }
}

export interface ProjectedClaimsOptions {
  issuer: string
  audiences?: string[]
  namespace?: string
  serviceAccount?: string
  nowSeconds?: number
  expiresInSeconds?: number
}

/** The claims kube-apiserver puts in a pod-bound projected token (pkg/serviceaccount/claims.go). */
export function projectedClaims(options: ProjectedClaimsOptions): Record<string, unknown> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  const namespace = options.namespace ?? 'payments'
  const serviceAccount = options.serviceAccount ?? 'api'
  return {
    aud: options.audiences ?? ['vault-edge'],
    exp: now + (options.expiresInSeconds ?? 600),
    iat: now,
    iss: options.issuer,
    jti: crypto.randomUUID(),
    'kubernetes.io': {
      namespace,
      node: { name: 'kind-worker', uid: '5e42c83f-2b64-4f57-a2dc-2273fff97e0e' },
      pod: { name: `${serviceAccount}-7c6d9f8b5-x2x9p`, uid: 'e47f05ef-41c3-4f47-a7f4-5075fb3dd6d3' },
      serviceaccount: { name: serviceAccount, uid: '8cfa5f15-09ba-4f3d-8167-68aa619f4f7f' },
    },
    nbf: now,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  }
}

/** The flat claims of a legacy secret-based token (pkg/serviceaccount/legacy.go). */
export function legacyClaims(namespace = 'payments', serviceAccount = 'api'): Record<string, unknown> {
  return {
    iss: 'kubernetes/serviceaccount',
    'kubernetes.io/serviceaccount/namespace': namespace,
    'kubernetes.io/serviceaccount/secret.name': `${serviceAccount}-token-x2x9p`,
    'kubernetes.io/serviceaccount/service-account.name': serviceAccount,
    'kubernetes.io/serviceaccount/service-account.uid': 'd77f89bc-9055-11e7-a068-0800276d99bf',
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  }
}

// Real tokens and keys, with their provenance: test/fixtures/k8s-tokens/README.md.
const FIXTURES = new URL('../fixtures/k8s-tokens/', import.meta.url)

export const fixtureText = (path: string) => readFileSync(new URL(path, FIXTURES), 'utf8')
export const fixtureJson = <T = Record<string, unknown>>(path: string) => JSON.parse(fixtureText(path)) as T

export async function createTestCache(): Promise<SecureCache> {
  return createSecureCache(createMemoryStore(), await createSealer(undefined))
}

/** Keeps every log line as written, unredacted, so tests can prove no token ever reaches one. */
export function createRawLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    log(level, message, fields = {}) {
      lines.push(JSON.stringify({ level, msg: message, ...fields }))
    },
  }
}

/** The log reason of the 401 that `run` rejects with; fails the test on anything else. */
export async function refusalReason(run: Promise<unknown>): Promise<string> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(AppError)
  expect((error as AppError).status).toBe(401)
  return (error as AppError).logReason ?? ''
}

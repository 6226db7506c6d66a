// The Node entry checks JWS signatures with node:crypto (src/adapters/node-signature-verifier.ts)
// where jose would use crypto.subtle: for every algorithm it takes, it must accept and refuse
// exactly what jose does, and leave to jose the keys jose itself would refuse.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { createNodeSignatureVerifier } from '../../src/adapters/node-signature-verifier.ts'
import { parseConfig } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { createClusterKeys } from '../../src/identity/cluster-keys.ts'
import { parseCompactJws } from '../../src/identity/parse-compact-jws.ts'
import { verifyServiceAccountToken } from '../../src/identity/verify-service-account-token.ts'
import { createTestCache, projectedClaims } from './token-lab.ts'

const ISSUER = 'https://oidc.example/id/node-signatures'
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const

async function labFor(alg: string, options: { jwk?: (jwk: JWK) => JWK } = {}) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }
  const clusters = parseConfig(JSON.stringify({
    clusters: [{ name: 'lab', issuer: ISSUER, audiences: ['vault-edge'], jwks: { keys: [options.jwk ? options.jwk(jwk) : jwk] }, algorithms: [alg] }],
    vault: { address: 'https://vault.example:8200' },
    rules: [{ role: 'any', paths: ['*'] }],
  })).clusters
  const keys = createClusterKeys(async () => new Response(null, { status: 500 }), await createTestCache())
  const nowMs = Date.now()
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).sign(privateKey)
  const outcome = (token: string, verifySignature?: ReturnType<typeof createNodeSignatureVerifier>) =>
    verifyServiceAccountToken(token, { clusters, keys, now: () => nowMs, verifySignature }).then(
      (identity) => identity,
      (error: unknown) => (error instanceof AppError ? `${error.status} ${error.logReason}` : error),
    )
  return { clusters, keys, nowMs, sign, outcome, claims: projectedClaims({ issuer: ISSUER, nowSeconds: Math.floor(nowMs / 1000) }) }
}

/** Flips one bit of the signature's bytes (kept canonical base64url). */
const withSignatureBitFlipped = (token: string, byteIndex: number) => {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const bytes = Buffer.from(signature, 'base64url')
  bytes[byteIndex % bytes.length]! ^= 1
  return `${header}.${payload}.${bytes.toString('base64url')}`
}

describe('node:crypto JWS signatures, next to jose', () => {
  it.each(ALGORITHMS)('%s: the same identity for a good token, the same refusal for a bad signature, a wrong length or expired claims', async (alg) => {
    const lab = await labFor(alg)
    const verifier = createNodeSignatureVerifier()
    const good = await lab.sign(lab.claims)
    const [cluster] = lab.clusters
    const [key] = await lab.keys(cluster!).candidateKeys({ alg, kid: 'k1' }, parseCompactJws(good))
    // Really checked by node:crypto, not handed back to jose.
    expect(verifier(alg, key!, parseCompactJws(good))).toBe(true)
    expect(await lab.outcome(good, verifier)).toEqual(await lab.outcome(good))
    expect((await lab.outcome(good, verifier)) as { serviceAccount: string }).toMatchObject({ serviceAccount: 'api' })

    const tampered = [
      withSignatureBitFlipped(good, 0),
      withSignatureBitFlipped(good, 31),
      withSignatureBitFlipped(good, 1000),
      `${good.split('.').slice(0, 2).join('.')}.${Buffer.from(good.split('.')[2]!, 'base64url').subarray(1).toString('base64url')}`,
      `${good.split('.').slice(0, 2).join('.')}.`,
      await lab.sign({ ...lab.claims, exp: Math.floor(lab.nowMs / 1000) - 3600 }),
      await lab.sign({ ...lab.claims, aud: ['someone-else'] }),
      await lab.sign({ ...lab.claims, iss: 'https://elsewhere.example' }),
    ]
    for (const token of tampered) {
      const onNode = await lab.outcome(token, verifier)
      expect(onNode).toEqual(await lab.outcome(token))
      expect(String(onNode)).toMatch(/^401 /)
    }
    expect(verifier(alg, key!, parseCompactJws(tampered[0]!))).toBe(false)
  })

  it('leaves to jose a key jose refuses (RSA under 2048 bits), and both refuse the token', async () => {
    const verifier = createNodeSignatureVerifier()
    // jose will not even make such a key: node:crypto makes and signs with it.
    const { generateKeyPairSync, sign } = await import('node:crypto')
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const jwk = { ...(small.publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg: 'RS256', use: 'sig' }
    const smallLab = await labFor('RS256', { jwk: () => jwk })
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const input = `${encode({ alg: 'RS256', kid: 'k1' })}.${encode(smallLab.claims)}`
    const signed = `${input}.${sign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`
    const [key] = await smallLab.keys(smallLab.clusters[0]!).candidateKeys({ alg: 'RS256', kid: 'k1' }, parseCompactJws(signed))
    expect(verifier('RS256', key!, parseCompactJws(signed))).toBeUndefined()
    const onNode = await smallLab.outcome(signed, verifier)
    expect(onNode).toEqual(await smallLab.outcome(signed))
    expect(String(onNode)).toMatch(/^401 signature does not verify/)
  })

  it('leaves to jose an algorithm it does not handle (EdDSA)', async () => {
    const lab = await labFor('EdDSA')
    const verifier = createNodeSignatureVerifier()
    const good = await lab.sign(lab.claims)
    const [key] = await lab.keys(lab.clusters[0]!).candidateKeys({ alg: 'EdDSA', kid: 'k1' }, parseCompactJws(good))
    expect(verifier('EdDSA', key!, parseCompactJws(good))).toBeUndefined()
    expect(await lab.outcome(good, verifier)).toEqual(await lab.outcome(good))
  })
})

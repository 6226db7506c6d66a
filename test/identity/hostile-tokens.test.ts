// Hostile tokens through the real HTTP app: each case has its expected status and the check the
// log must name. Cluster A is the kube-apiserver stand-in (OIDC discovery + JWKS over HTTP, RS256);
// cluster B has an inline ES256 JWKS whose private key this test holds, so it can sign any bytes
// (duplicate members, crit, embedded keys) and show the signature is not what stops them.
import { CompactEncrypt, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { parseConfig } from '../../src/config.ts'
import { MAX_TOKEN_BYTES } from '../../src/identity/parse-compact-jws.ts'
import { startClusterIssuer, type ClusterIssuer, type MintOptions } from '../support/cluster-issuer.ts'
import { b64url, b64urlJson, createLabSigner, createRawLogger, createTestCache, legacyClaims, projectedClaims, type LabSigner } from './token-lab.ts'

const AUDIENCE = 'vault-edge'
const B_ISSUER = 'https://oidc.cluster-b.example/id/B'
const PATH = '/v1/secrets/secret/data/x'

let issuerA: ClusterIssuer
let signerB: LabSigner
let attacker: LabSigner
let app: ReturnType<typeof createApp>
const log = createRawLogger()

interface Case {
  name: string
  status: 401 | 403
  /** What the log line must say failed (401s). */
  reason?: RegExp
  /** The whole Authorization header, or undefined for none. */
  authorization: () => Promise<string | undefined>
}

const bearer = (token: string) => `Bearer ${token}`
const now = () => Math.floor(Date.now() / 1000)
/** A cluster-A token as kube-apiserver would mint it for the broker. */
const mintA = (options: MintOptions = {}) => issuerA.mint({ namespace: 'payments', serviceAccount: 'api', audiences: [AUDIENCE], ...options })
const claimsB = (overrides: Record<string, unknown> = {}) => ({ ...projectedClaims({ issuer: B_ISSUER }), ...overrides })
const headerB = (overrides: Record<string, unknown> = {}) => ({ alg: 'ES256', kid: signerB.kid, ...overrides })
const signB = (header: object | string = headerB(), payload: object | string = claimsB()) => signerB.sign(header, payload)
const withSegment = (token: string, index: number, segment: string) => token.split('.').map((part, i) => (i === index ? segment : part)).join('.')
/** The last signature character with its unused low bits set: atob still decodes the same bytes. */
function nonCanonicalSignature(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = token.at(-1)!
  return token.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1]
}

const cases: Case[] = [
  // Controls: the table refuses what is wrong, not everything. The path has no rule → 403.
  { name: 'a valid cluster-A token (kid) for a path no rule grants', status: 403, authorization: async () => bearer(await mintA()) },
  { name: 'a valid cluster-B token (inline ES256 JWKS)', status: 403, authorization: async () => bearer(await signB()) },
  { name: 'a valid token with kid "" (older clusters)', status: 403, authorization: async () => bearer(await mintA({ header: { kid: '' } })) },
  { name: 'a valid token with no kid', status: 403, authorization: async () => bearer(await mintA({ header: { kid: null } })) },
  { name: 'lowercase "bearer": the scheme is case-insensitive (RFC 7235 §2.1)', status: 403, authorization: async () => `bearer ${await mintA()}` },
  { name: 'expired 10 s ago, within the leeway', status: 403, authorization: async () => bearer(await mintA({ now: now() - 3610, expirationSeconds: 3600 })) },
  { name: 'an auto-mounted year-long token before its warnafter', status: 403, authorization: async () => bearer(await mintA({ expirationSeconds: 3607 })) },
  { name: 'a legacy token signed by cluster B, which opts in', status: 403, authorization: async () => bearer(await signB({ alg: 'ES256', typ: 'JWT' }, legacyClaims())) },
  { name: 'aud as a single string naming the broker (RFC 7519 §4.1.3)', status: 403, authorization: async () => bearer(await signB(headerB(), claimsB({ aud: AUDIENCE }))) },

  // The Authorization header itself.
  { name: 'no Authorization header', status: 401, reason: /no Authorization header/, authorization: async () => undefined },
  { name: 'an empty Bearer', status: 401, reason: /not a Bearer token/, authorization: async () => 'Bearer ' },
  { name: 'Basic credentials', status: 401, reason: /not a Bearer token/, authorization: async () => `Basic ${btoa('user:pass')}` },
  { name: 'two tokens in one header', status: 401, reason: /not a Bearer token/, authorization: async () => `Bearer ${await mintA()}, Bearer ${await mintA()}` },
  { name: 'two tokens separated by a space', status: 401, reason: /not a Bearer token/, authorization: async () => `Bearer ${await mintA()} ${await mintA()}` },
  { name: 'Bearer twice', status: 401, reason: /not a Bearer token/, authorization: async () => `Bearer Bearer ${await mintA()}` },
  { name: 'a 1 MB token', status: 401, reason: /Authorization header too large/, authorization: async () => bearer('eyJ' + 'A'.repeat(1024 * 1024)) },
  {
    name: 'a well-formed token one byte over MAX_TOKEN_BYTES',
    status: 401,
    reason: /token larger than MAX_TOKEN_BYTES/,
    authorization: async () => {
      const token = await signB(headerB(), claimsB({ pad: '' }))
      const padded = await signB(headerB(), claimsB({ pad: 'x'.repeat(Math.ceil(((MAX_TOKEN_BYTES - token.length) * 3) / 4) + 3) }))
      return bearer(padded)
    },
  },

  // Structure and encoding.
  { name: 'extra segments', status: 401, reason: /4 segments, expected 3/, authorization: async () => bearer(`${await mintA()}.${b64urlJson({})}`) },
  { name: 'two segments (signature dropped)', status: 401, reason: /2 segments, expected 3/, authorization: async () => bearer((await mintA()).split('.').slice(0, 2).join('.')) },
  {
    name: 'a JWE (compact, encrypted to cluster A\'s own public key)',
    status: 401,
    reason: /a JWE/,
    authorization: async () => {
      const key = await importJWK({ ...issuerA.jwks.keys[0]!, alg: 'RSA-OAEP-256', use: 'enc' }, 'RSA-OAEP-256')
      const claims = new TextEncoder().encode(JSON.stringify(projectedClaims({ issuer: issuerA.issuer })))
      return bearer(await new CompactEncrypt(claims).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(key))
    },
  },
  { name: 'a truncated signature', status: 401, reason: /signature|base64url/, authorization: async () => bearer((await mintA()).slice(0, -4)) },
  { name: 'a padded signature', status: 401, reason: /signature is not canonical/, authorization: async () => bearer(`${await mintA()}==`) },
  { name: 'a padded header segment', status: 401, reason: /not a Bearer token|header is not canonical/, authorization: async () => bearer(withSegment(await mintA(), 0, `${(await mintA()).split('.')[0]}=`)) },
  { name: 'a truncated payload segment', status: 401, reason: /payload is not/, authorization: async () => { const token = await mintA(); const [h, p, s] = token.split('.'); return bearer(`${h}.${p!.slice(0, -1)}.${s}`) } },
  { name: 'the signature with unused trailing bits set (decodes to the same bytes)', status: 401, reason: /signature is not canonical/, authorization: async () => bearer(nonCanonicalSignature(await mintA())) },
  {
    name: 'the standard base64 alphabet (+ /) in place of base64url',
    status: 401,
    reason: /not canonical unpadded base64url/,
    authorization: async () => {
      const [header, payload, signature] = (await mintA()).split('.') as [string, string, string]
      const standard = (segment: string) => segment.replaceAll('-', '+').replaceAll('_', '/')
      return bearer(`${standard(header)}.${standard(payload)}.+/${standard(signature).slice(2)}`)
    },
  },
  { name: 'a header that is not JSON', status: 401, reason: /header is not UTF-8 JSON/, authorization: async () => bearer(withSegment(await mintA(), 0, b64url('{alg:RS256}'))) },
  { name: 'a header that is a JSON array', status: 401, reason: /header is not a JSON object/, authorization: async () => bearer(withSegment(await mintA(), 0, b64urlJson(['RS256']))) },
  { name: 'a header that is not UTF-8', status: 401, reason: /header is not UTF-8 JSON/, authorization: async () => bearer(withSegment(await mintA(), 0, b64url(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))) },
  { name: 'a payload that is a JSON array (validly signed)', status: 401, reason: /payload is not a JSON object/, authorization: async () => bearer(await signB(headerB(), [claimsB()])) },
  { name: 'a payload that is null (validly signed)', status: 401, reason: /payload is not a JSON object/, authorization: async () => bearer(await signB(headerB(), 'null')) },
  {
    name: 'duplicate alg in the header, the last one valid (validly signed)',
    status: 401,
    reason: /header names a member twice/,
    authorization: async () => bearer(await signB(`{"alg":"none","alg":"ES256","kid":${JSON.stringify(signerB.kid)}}`)),
  },
  {
    name: 'duplicate sub in the payload, the last one valid (validly signed)',
    status: 401,
    reason: /payload names a member twice/,
    authorization: async () => bearer(await signB(headerB(), `{"sub":"system:serviceaccount:kube-system:admin",${JSON.stringify(claimsB()).slice(1)}`)),
  },
  {
    name: 'a duplicate member spelled with \\u escapes',
    status: 401,
    reason: /payload names a member twice/,
    authorization: async () => bearer(await signB(headerB(), `{"\\u0073ub":"system:serviceaccount:kube-system:admin",${JSON.stringify(claimsB()).slice(1)}`)),
  },

  // Algorithms.
  { name: 'alg none', status: 401, reason: /alg none or HMAC/, authorization: async () => bearer(await mintA({ header: { alg: 'none' } })) },
  { name: 'alg "NoNe" with a signature', status: 401, reason: /alg none or HMAC/, authorization: async () => bearer(withSegment(await mintA(), 0, b64urlJson({ alg: 'NoNe', kid: issuerA.kid }))) },
  { name: 'HS256 signed with cluster A\'s RSA public key as the HMAC secret', status: 401, reason: /alg none or HMAC/, authorization: async () => bearer(await mintA({ header: { alg: 'HS256' } })) },
  { name: 'HS512 with the public key as secret', status: 401, reason: /alg none or HMAC/, authorization: async () => bearer(await mintA({ header: { alg: 'HS512' } })) },
  { name: 'PS256, validly signed, but not in the allow-list', status: 401, reason: /alg not in the allow-list of cluster cluster-a/, authorization: async () => bearer(await mintA({ header: { alg: 'PS256' } })) },
  { name: 'RS256 for cluster B, whose allow-list is ES256 only', status: 401, reason: /alg not in the allow-list of cluster cluster-b/, authorization: async () => bearer(await mintA({ extraClaims: { iss: B_ISSUER } })) },
  { name: 'an RS256 signature relabelled ES256', status: 401, reason: /no key in the JWKS of cluster cluster-a matches/, authorization: async () => bearer(withSegment(await mintA(), 0, b64urlJson({ alg: 'ES256', kid: issuerA.kid }))) },
  { name: 'an empty signature with alg RS256', status: 401, reason: /signature does not verify/, authorization: async () => bearer(`${(await mintA()).split('.').slice(0, 2).join('.')}.`) },

  // Keys.
  { name: 'a valid signature from a key not in the JWKS', status: 401, reason: /no key in the JWKS of cluster cluster-a matches/, authorization: async () => bearer(await mintA({ key: 'unknown' })) },
  { name: 'a foreign key claiming the current kid', status: 401, reason: /signature does not verify/, authorization: async () => bearer(await mintA({ key: 'unknown', header: { kid: issuerA.kid } })) },
  { name: 'kid pointing at cluster B\'s key, iss cluster A', status: 401, reason: /no key in the JWKS of cluster cluster-a matches/, authorization: async () => bearer(await signB(headerB(), claimsB({ iss: issuerA.issuer }))) },
  { name: 'kid pointing at cluster A\'s key, iss cluster B', status: 401, reason: /no key in the JWKS of cluster cluster-b matches/, authorization: async () => bearer(await signB(headerB({ kid: issuerA.kid }))) },
  { name: 'a kid with path traversal', status: 401, reason: /no key in the JWKS of cluster cluster-a matches/, authorization: async () => bearer(await mintA({ header: { kid: '../../../../etc/passwd' } })) },
  { name: 'a kid that is not a string (validly signed)', status: 401, reason: /kid is not a string/, authorization: async () => bearer(await signB(headerB({ kid: 7 }))) },
  { name: 'a jku header naming the attacker\'s JWKS', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await mintA({ key: 'unknown', header: { jku: 'http://127.0.0.1:9/jwks' } })) },
  { name: 'an x5u header', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await mintA({ key: 'unknown', header: { x5u: 'http://127.0.0.1:9/cert.pem' } })) },
  { name: 'the attacker\'s key embedded as jwk', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await attacker.sign({ alg: 'ES256', jwk: attacker.jwk }, claimsB())) },
  { name: 'an x5c header', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await attacker.sign({ alg: 'ES256', x5c: ['MIIB'] }, claimsB())) },
  { name: 'a crit header (validly signed)', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await signB(headerB({ crit: ['exp'], exp: 1 }))) },
  { name: 'b64: false (validly signed)', status: 401, reason: /parameter kube-apiserver never sets/, authorization: async () => bearer(await signB(headerB({ b64: false, crit: ['b64'] }))) },
  { name: 'typ other than JWT (validly signed)', status: 401, reason: /typ is not JWT/, authorization: async () => bearer(await signB(headerB({ typ: 'at+jwt' }))) },

  // Issuer and audience.
  { name: 'an unconfigured iss', status: 401, reason: /iss is not a configured cluster issuer/, authorization: async () => bearer(await mintA({ extraClaims: { iss: 'https://evil.example' } })) },
  { name: 'no iss', status: 401, reason: /no iss claim/, authorization: async () => bearer(await mintA({ omitClaims: ['iss'] })) },
  { name: 'iss with a trailing slash', status: 401, reason: /iss is not a configured cluster issuer/, authorization: async () => bearer(await mintA({ extraClaims: { iss: `${issuerA.issuer}/` } })) },
  { name: 'iss as an array', status: 401, reason: /no iss claim/, authorization: async () => bearer(await mintA({ extraClaims: { iss: [issuerA.issuer] } })) },
  { name: 'no aud', status: 401, reason: /aud claim missing/, authorization: async () => bearer(await mintA({ omitClaims: ['aud'] })) },
  { name: 'aud naming only the API server', status: 401, reason: /aud holds none of the cluster audiences/, authorization: async () => bearer(await issuerA.mint({ namespace: 'payments', serviceAccount: 'api' })) },
  { name: 'aud naming only cluster B\'s other audience', status: 401, reason: /aud holds none of the cluster audiences/, authorization: async () => bearer(await mintA({ audiences: ['vault-edge-b'] })) },

  // Time.
  { name: 'expired beyond the leeway', status: 401, reason: /token expired/, authorization: async () => bearer(await mintA({ now: now() - 3700, expirationSeconds: 3600 })) },
  { name: 'no exp', status: 401, reason: /exp claim missing/, authorization: async () => bearer(await mintA({ omitClaims: ['exp'] })) },
  { name: 'exp as a string', status: 401, reason: /exp claim is not a number/, authorization: async () => bearer(await mintA({ extraClaims: { exp: String(now() + 600) } })) },
  { name: 'nbf in the future', status: 401, reason: /nbf is in the future/, authorization: async () => bearer(await mintA({ extraClaims: { nbf: now() + 600 } })) },
  { name: 'iat in the future', status: 401, reason: /iat is in the future/, authorization: async () => bearer(await mintA({ extraClaims: { iat: now() + 600 } })) },
  { name: 'no iat', status: 401, reason: /iat claim missing/, authorization: async () => bearer(await mintA({ omitClaims: ['iat'] })) },
  { name: 'older than maxTokenAgeSeconds though not expired', status: 401, reason: /older than maxTokenAgeSeconds/, authorization: async () => bearer(await mintA({ now: now() - 2 * 86400, expirationSeconds: 3 * 86400 })) },
  { name: 'an auto-mounted year-long token past its warnafter', status: 401, reason: /warnafter/, authorization: async () => bearer(await mintA({ now: now() - 7200, expirationSeconds: 3607 })) },

  // Subject and Kubernetes claims.
  { name: 'sub naming another namespace than kubernetes.io', status: 401, reason: /sub namespace disagrees/, authorization: async () => bearer(await mintA({ extraClaims: { sub: 'system:serviceaccount:kube-system:api' } })) },
  { name: 'sub naming another ServiceAccount than kubernetes.io', status: 401, reason: /sub name disagrees/, authorization: async () => bearer(await mintA({ extraClaims: { sub: 'system:serviceaccount:payments:admin' } })) },
  { name: 'sub that is not a ServiceAccount', status: 401, reason: /sub is not system:serviceaccount/, authorization: async () => bearer(await mintA({ extraClaims: { sub: 'system:node:kind-worker' } })) },
  { name: 'sub with an extra segment', status: 401, reason: /sub is not system:serviceaccount/, authorization: async () => bearer(await mintA({ extraClaims: { sub: 'system:serviceaccount:payments:api:x' } })) },
  { name: 'no kubernetes.io claim', status: 401, reason: /no kubernetes.io claim/, authorization: async () => bearer(await mintA({ omitClaims: ['kubernetes.io'] })) },
  { name: 'kubernetes.io as a string', status: 401, reason: /no kubernetes.io claim/, authorization: async () => bearer(await mintA({ extraClaims: { 'kubernetes.io': 'payments' } })) },
  { name: 'a unicode look-alike namespace (Cyrillic а)', status: 401, reason: /not a Kubernetes namespace name/, authorization: async () => bearer(await mintA({ namespace: 'pаyments' })) },
  { name: 'an upper-case namespace', status: 401, reason: /not a Kubernetes namespace name/, authorization: async () => bearer(await mintA({ namespace: 'Payments' })) },
  { name: 'a namespace longer than 63 characters', status: 401, reason: /not a Kubernetes namespace name/, authorization: async () => bearer(await mintA({ namespace: 'n'.repeat(64) })) },
  { name: 'a ServiceAccount name with a wildcard', status: 401, reason: /not a Kubernetes ServiceAccount name/, authorization: async () => bearer(await mintA({ serviceAccount: '*' })) },
  { name: 'a pod claim without a name', status: 401, reason: /pod is not a named object/, authorization: async () => bearer(await signB(headerB(), claimsB({ 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' }, pod: { uid: 'x' } } }))) },

  // Legacy tokens.
  { name: 'a legacy token from cluster A, which does not opt in', status: 401, reason: /legacy token; alg not in the allow-list of cluster cluster-b/, authorization: async () => bearer(await mintA({ legacy: true })) },
  { name: 'a legacy token signed by an attacker', status: 401, reason: /legacy token; signature does not verify/, authorization: async () => bearer(await attacker.sign({ alg: 'ES256', typ: 'JWT' }, legacyClaims())) },
  { name: 'a legacy token whose sub disagrees with its flat claims', status: 401, reason: /sub namespace disagrees with the legacy namespace claim/, authorization: async () => bearer(await signB({ alg: 'ES256', typ: 'JWT' }, { ...legacyClaims(), sub: 'system:serviceaccount:kube-system:api' })) },
  { name: 'a legacy token that has expired', status: 401, reason: /token expired/, authorization: async () => bearer(await signB({ alg: 'ES256', typ: 'JWT' }, { ...legacyClaims(), exp: now() - 3600 })) },
]

beforeAll(async () => {
  issuerA = await startClusterIssuer({ algorithm: 'RS256' })
  signerB = await createLabSigner('ES256')
  attacker = await createLabSigner('ES256')
  const config = parseConfig(
    JSON.stringify({
      clusters: [
        { name: 'cluster-a', issuer: issuerA.issuer, audiences: [AUDIENCE] },
        { name: 'cluster-b', issuer: B_ISSUER, audiences: [AUDIENCE, 'vault-edge-b'], jwks: { keys: [signerB.jwk] }, algorithms: ['ES256'], allowLegacyTokens: true },
      ],
      // Nothing may reach Vault: every case ends at authentication or at the rules.
      vault: { address: 'http://127.0.0.1:9' },
      rules: [{ namespace: 'payments', role: 'payments', paths: ['secret/data/payments/*'] }],
    }),
  )
  app = createApp({ config, fetch: globalThis.fetch, cache: await createTestCache(), now: Date.now, log })
})

afterAll(async () => {
  await issuerA?.stop()
})

describe('hostile tokens through GET /v1/secrets/secret/data/x', () => {
  // A remembered token skips the Bearer syntax check (routes/authenticate.ts): the header around it
  // must still be exactly `Bearer` (any case), spaces, the token.
  it('refuses a remembered token in any header but `Bearer <token>`', async () => {
    const token = await mintA()
    const statusFor = async (authorization: string) => (await app.request(PATH, { headers: { Authorization: authorization } })).status
    expect(await statusFor(bearer(token))).toBe(403)
    for (const accepted of [`bearer ${token}`, `BEARER   ${token}`]) expect(await statusFor(accepted), accepted.slice(0, 12)).toBe(403)
    const linesBefore = log.lines.length
    const refused = [`Digest ${token}`, `Bearer\t${token}`, `Bearer Bearer ${token}`, `Bearer ${token} ${token}`, `Bearer ${token}, Bearer ${token}`, `Bearer ${token}x`, `Bearer x${token}`, `Bearer${token}`, token]
    for (const authorization of refused) expect(await statusFor(authorization), authorization.slice(0, 12)).toBe(401)
    const reasons = log.lines.slice(linesBefore).map((line) => JSON.parse(line) as { msg: string; reason?: string }).filter((line) => line.msg === 'request refused')
    expect(reasons).toHaveLength(refused.length)
  })

  it('has at least 40 hostile cases besides the controls', () => {
    expect(cases.filter((entry) => entry.status === 401).length).toBeGreaterThanOrEqual(40)
  })

  it.each(cases)('$name → $status', async (entry) => {
    const authorization = await entry.authorization()
    const token = authorization?.replace(/^bearer\s+/i, '')
    const linesBefore = log.lines.length
    const response = await app.request(PATH, { headers: authorization === undefined ? {} : { Authorization: authorization } })
    const body = await response.text()

    expect(response.status).toBe(entry.status)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    const problem = JSON.parse(body) as { status: number; code: string; detail: string }
    expect(problem.status).toBe(entry.status)
    if (entry.status === 401) {
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="vault-edge", error="invalid_token"$/)
      // One generic message, whatever failed.
      expect(problem).toMatchObject({ code: 'invalid_token', detail: 'The bearer token is missing or invalid.' })
    }

    const lines = log.lines.slice(linesBefore)
    const refusal = lines.map((line) => JSON.parse(line) as { msg: string; status: number; reason?: string }).find((line) => line.msg === 'request refused')
    expect(refusal?.status).toBe(entry.status)
    if (entry.reason) expect(refusal?.reason).toMatch(entry.reason)

    // Neither the answer nor any log line carries the token or its signature.
    if (token && token.length > 16) {
      const signature = token.split('.')[2] ?? token
      for (const text of [body, ...lines, JSON.stringify([...response.headers])]) {
        expect(text.includes(token)).toBe(false)
        if (signature.length > 16) expect(text.includes(signature)).toBe(false)
      }
    }
  })
})

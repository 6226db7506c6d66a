// The cluster issuer stands in for kube-apiserver: these tests hold it to the real
// tokens and documents in test/fixtures/k8s-tokens.
import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  EXTENDED_EXPIRATION_SECONDS,
  kubernetesJwk,
  kubernetesKeyId,
  startClusterIssuer,
  type ClusterIssuer,
  type IssuerAlgorithm,
} from './cluster-issuer.ts'
import { decodeJwt, issuerStats, mintToken } from './mint.ts'

const FIXTURES = new URL('../fixtures/k8s-tokens/', import.meta.url)
const fixture = (path: string) => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8'))
const kindPayload = fixture('12-kind-v1.34-projected-a/payload.json')
const kindHeader = fixture('12-kind-v1.34-projected-a/header.json')
const kindJwks = fixture('12-kind-v1.34-projected-a/jwks.json')
const kindDiscovery = fixture('discovery/kind-v1.34-saggu-2025/openid-configuration.json')
const legacyPayload = fixture('01-vault-legacy-minikube2017-vault-auth/payload.json')
const legacyHeader = fixture('01-vault-legacy-minikube2017-vault-auth/header.json')

/** The shape of a JSON value: keys in order, recursively, values replaced by their type. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape)
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => [k, shape(v)])
  }
  return typeof value
}

let issuer: ClusterIssuer
beforeAll(async () => {
  issuer = await startClusterIssuer()
})
afterAll(() => issuer?.stop())

describe('tokens minted by the cluster issuer', () => {
  it('have exactly the claims, claim order and types of the real kind v1.34 auto-mounted token', async () => {
    const token = await issuer.mint({ namespace: 'default', serviceAccount: 'default', expirationSeconds: 3607 })
    const { header, payload } = decodeJwt(token)
    expect(shape(payload)).toEqual(shape(kindPayload))
    expect(Object.keys(header)).toEqual(Object.keys(kindHeader))
    expect(header).toEqual({ alg: 'RS256', kid: issuer.kid })
  })

  it('stretch a 3607 s token to a year with warnafter at the requested expiry, as kube-apiserver does', async () => {
    const { payload } = decodeJwt(await issuer.mint({ expirationSeconds: 3607, now: 1766148177 }))
    const k8s = payload['kubernetes.io'] as Record<string, unknown>
    expect(payload.exp).toBe(1766148177 + EXTENDED_EXPIRATION_SECONDS)
    expect(k8s.warnafter).toBe(1766148177 + 3607)
    // The real token's gaps are the same.
    expect(kindPayload.exp - kindPayload.iat).toBe(EXTENDED_EXPIRATION_SECONDS)
    expect(kindPayload['kubernetes.io'].warnafter - kindPayload.iat).toBe(3607)
  })

  it('carry no warnafter and the requested lifetime otherwise', async () => {
    const { payload } = decodeJwt(
      await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: ['vault-edge'], expirationSeconds: 600, now: 1_800_000_000 }),
    )
    expect(payload).toMatchObject({
      aud: ['vault-edge'],
      iat: 1_800_000_000,
      nbf: 1_800_000_000,
      exp: 1_800_000_600,
      iss: issuer.issuer,
      sub: 'system:serviceaccount:demo:myapp',
    })
    expect(payload['kubernetes.io']).not.toHaveProperty('warnafter')
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('keep one uid per ServiceAccount, pod and node', async () => {
    const a = decodeJwt(await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp' })).payload['kubernetes.io'] as any
    const b = decodeJwt(await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp' })).payload['kubernetes.io'] as any
    const other = decodeJwt(await issuer.mint({ namespace: 'demo', serviceAccount: 'other' })).payload['kubernetes.io'] as any
    expect(a.serviceaccount.uid).toBe(b.serviceaccount.uid)
    expect(a.pod.uid).toBe(b.pod.uid)
    expect(a.node.uid).toBe(b.node.uid)
    expect(other.serviceaccount.uid).not.toBe(a.serviceaccount.uid)
    expect(issuer.serviceAccountUid('demo', 'myapp')).toBe(a.serviceaccount.uid)
  })

  it('leave out pod and node when not bound to a pod (kubectl create token)', async () => {
    const { payload } = decodeJwt(await issuer.mint({ pod: null }))
    expect(Object.keys(payload['kubernetes.io'] as object)).toEqual(['namespace', 'serviceaccount'])
  })

  it('take header overrides and omitted claims for negative tests', async () => {
    const noKid = decodeJwt(await issuer.mint({ header: { kid: null } }))
    expect(noKid.header).toEqual({ alg: 'RS256' })
    const emptyKid = decodeJwt(await issuer.mint({ header: { kid: '' } }))
    expect(emptyKid.header).toEqual({ alg: 'RS256', kid: '' })
    const none = await issuer.mint({ header: { alg: 'none' } })
    expect(none.endsWith('.')).toBe(true)
    const noExp = decodeJwt(await issuer.mint({ omitClaims: ['exp', 'kubernetes.io/node'] })).payload
    expect(noExp).not.toHaveProperty('exp')
    expect(noExp['kubernetes.io']).not.toHaveProperty('node')
  })

  it('mint legacy secret-based tokens shaped like the 2017 minikube one', async () => {
    const token = await issuer.mint({ legacy: true, serviceAccount: 'vault-auth' })
    const { header, payload } = decodeJwt(token)
    expect(header).toEqual(legacyHeader)
    expect(shape(payload)).toEqual(shape(legacyPayload))
    await jwtVerify(token, createLocalJWKSet(issuer.jwks))
  })

  it('are minted over HTTP for tests in other processes', async () => {
    const token = await mintToken(issuer.issuer, { namespace: 'demo', serviceAccount: 'myapp', audiences: ['vault-edge'] })
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks), { issuer: issuer.issuer, audience: 'vault-edge' })
    expect(payload.sub).toBe('system:serviceaccount:demo:myapp')
    expect((await issuerStats(issuer.issuer)).mints).toBeGreaterThan(0)
  })

  it('are minted by the shared issuer of the global setup', async () => {
    const issuerUrl = inject('issuerUrl')
    const token = await mintToken(issuerUrl, { audiences: ['vault-edge'] })
    const jwks = createRemoteJWKSet(new URL(`${new URL(issuerUrl).origin}/openid/v1/jwks`))
    await jwtVerify(token, jwks, { issuer: issuerUrl, audience: 'vault-edge' })
  })
})

describe('key ids', () => {
  it('derive the kid as kube-apiserver does: base64url(SHA-256(DER SPKI))', () => {
    const pem = readFileSync(new URL('12-kind-v1.34-projected-a/key.pem', FIXTURES), 'utf8')
    expect(kubernetesKeyId(pem)).toBe(kindJwks.keys[0].kid)
    expect(kubernetesKeyId(pem)).toBe(kindHeader.kid)
  })

  it('serve JWKs with the fields and field order of the real /openid/v1/jwks', () => {
    const pem = readFileSync(new URL('12-kind-v1.34-projected-a/key.pem', FIXTURES), 'utf8')
    expect(JSON.stringify(kubernetesJwk(createPublicKey(pem), 'RS256'))).toBe(JSON.stringify(kindJwks.keys[0]))
  })
})

describe('OIDC discovery and JWKS', () => {
  it('serves a discovery document shaped like the real ones, pointing at its JWKS', async () => {
    const doc = await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()
    expect(shape(doc)).toEqual(shape(kindDiscovery))
    expect(doc).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri })
    const jwks = await (await fetch(doc.jwks_uri)).json()
    expect(jwks).toEqual(issuer.jwks)
    expect(jwks.keys[0].kid).toBe(kubernetesKeyId(createPublicKey({ key: jwks.keys[0], format: 'jwk' })))
  })

  it('serves discovery under an issuer path (EKS-style issuers)', async () => {
    const eks = await startClusterIssuer({ issuerPath: '/id/ABC123' })
    try {
      expect(eks.issuer).toMatch(/\/id\/ABC123$/)
      const doc = await (await fetch(`${eks.issuer}/.well-known/openid-configuration`)).json()
      expect(doc.issuer).toBe(eks.issuer)
      const token = await mintToken(eks.issuer, { audiences: ['x'] })
      await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), { issuer: eks.issuer, audience: 'x' })
    } finally {
      await eks.stop()
    }
  })

  it.each<IssuerAlgorithm>(['ES256', 'ES384', 'ES512'])('signs with %s when its key is ECDSA', async (algorithm) => {
    const ec = await startClusterIssuer({ algorithm })
    try {
      const token = await ec.mint({ audiences: ['x'] })
      expect(decodeJwt(token).header).toEqual({ alg: algorithm, kid: ec.kid })
      const jwk = ec.jwks.keys[0]
      expect(Object.keys(jwk ?? {})).toEqual(['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y'])
      await jwtVerify(token, createRemoteJWKSet(new URL(ec.jwksUri)), { issuer: ec.issuer, audience: 'x' })
    } finally {
      await ec.stop()
    }
  })

  it('keeps the previous key published after a rotation unless told otherwise', async () => {
    const rotating = await startClusterIssuer()
    try {
      const before = await rotating.mint()
      const oldKid = rotating.kid
      const newKid = await rotating.rotateKey()
      expect(newKid).not.toBe(oldKid)
      expect(rotating.jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid])
      await jwtVerify(before, createLocalJWKSet(rotating.jwks))
      expect(decodeJwt(await rotating.mint()).header.kid).toBe(newKid)
      await rotating.rotateKey({ keepPrevious: false })
      await expect(jwtVerify(before, createLocalJWKSet(rotating.jwks))).rejects.toThrow()
    } finally {
      await rotating.stop()
    }
  })

  it('answers 503 from discovery and JWKS while down, and counts fetches', async () => {
    const flaky = await startClusterIssuer()
    try {
      await fetch(flaky.jwksUri)
      flaky.setDown(true)
      expect((await fetch(flaky.jwksUri)).status).toBe(503)
      expect((await fetch(`${flaky.issuer}/.well-known/openid-configuration`)).status).toBe(503)
      flaky.setDown(false)
      expect((await fetch(flaky.jwksUri)).status).toBe(200)
      expect(flaky.jwksFetchCount()).toBe(3)
      expect(flaky.discoveryFetchCount()).toBe(1)
    } finally {
      await flaky.stop()
    }
  })
})

describe('TokenReview', () => {
  const review = async (token: string, options: { audiences?: string[]; bearer?: string | null } = {}) => {
    const bearer = options.bearer === undefined ? await issuer.mint({ namespace: 'openbao', serviceAccount: 'reviewer', pod: null }) : options.bearer
    const res = await fetch(`${issuer.apiServerUrl}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(options.audiences ? { audiences: options.audiences } : {}) },
      }),
    })
    return { status: res.status, body: await res.json() }
  }

  it('authenticates a pod token like kube-apiserver: username, SA uid, groups, pod extras', async () => {
    const token = await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: ['vault-edge'], pod: 'myapp-1' })
    const k8s = decodeJwt(token).payload['kubernetes.io'] as any
    const before = issuer.tokenReviewCount()
    const { status, body } = await review(token, { audiences: ['vault-edge'] })
    expect(status).toBe(201)
    expect(body).toMatchObject({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1' })
    expect(body.status).toEqual({
      authenticated: true,
      user: {
        username: 'system:serviceaccount:demo:myapp',
        uid: k8s.serviceaccount.uid,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:demo', 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': [`JTI=${decodeJwt(token).payload.jti}`],
          'authentication.kubernetes.io/node-name': [k8s.node.name],
          'authentication.kubernetes.io/node-uid': [k8s.node.uid],
          'authentication.kubernetes.io/pod-name': ['myapp-1'],
          'authentication.kubernetes.io/pod-uid': [k8s.pod.uid],
        },
      },
      audiences: ['vault-edge'],
    })
    expect(issuer.tokenReviewCount()).toBe(before + 1)
  })

  it('does not authenticate a token for another audience (default: the API server)', async () => {
    const token = await issuer.mint({ audiences: ['vault-edge'] })
    const { status, body } = await review(token)
    expect(status).toBe(201)
    expect(body.status.authenticated).toBeUndefined()
    expect(body.status.error).toMatch(/invalid bearer token/)
  })

  it('does not authenticate an expired token, nor one of a recreated ServiceAccount', async () => {
    const expired = await issuer.mint({ audiences: ['a'], now: Math.floor(Date.now() / 1000) - 7200, expirationSeconds: 600 })
    expect((await review(expired, { audiences: ['a'] })).body.status.error).toMatch(/expired/)
    const stale = await issuer.mint({ namespace: 'demo', serviceAccount: 'recreated', audiences: ['a'] })
    issuer.recreateServiceAccount('demo', 'recreated')
    expect((await review(stale, { audiences: ['a'] })).body.status.authenticated).toBeUndefined()
  })

  it('answers 401 to a caller without a valid bearer token', async () => {
    const token = await issuer.mint()
    expect((await review(token, { bearer: null })).status).toBe(401)
    expect((await review(token, { bearer: await issuer.mint({ audiences: ['not-the-api-server'] }) })).status).toBe(401)
  })
})

// Tokens issued by real kube-apiservers (test/fixtures/k8s-tokens), verified with the keys
// that signed them, quirks included: `kid: ""`, no kid, a legacy iss on a projected token, an
// X.509 certificate as the key, a year-long auto-mounted token with warnafter.
import { exportJWK, importSPKI, importX509, type JWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { createNodeSignatureVerifier } from '../../src/adapters/node-signature-verifier.ts'
import { parseConfig, type ClusterConfig } from '../../src/config.ts'
import { AppError } from '../../src/errors.ts'
import { createClusterKeys } from '../../src/identity/cluster-keys.ts'
import { verifyServiceAccountToken } from '../../src/identity/verify-service-account-token.ts'
import { createLabSigner, createTestCache, fixtureJson, fixtureText, refusalReason } from './token-lab.ts'

const LEGACY = '01-vault-legacy-minikube2017-vault-auth'
const MINIKUBE_2018 = '05-vault-projected-minikube-v1.12-2018'
const KIND_2025 = '12-kind-v1.34-projected-a'
const KIND_DISCOVERY = 'discovery/kind-v1.34-saggu-2025'

const token = (folder: string) => fixtureText(`${folder}/token.jwt`).trim()
const payload = (folder: string) => fixtureJson<Record<string, number>>(`${folder}/payload.json`)
const rsaJwk = async (pem: string): Promise<JWK> => ({ ...(await exportJWK(await importSPKI(pem, 'RS256'))), use: 'sig' })
const certificateJwk = async (pem: string): Promise<JWK> => ({ ...(await exportJWK(await importX509(pem, 'RS256'))), use: 'sig' })

function clustersOf(clusters: Record<string, unknown>[]): ClusterConfig[] {
  return parseConfig(JSON.stringify({ clusters, vault: { address: 'https://vault.example:8200' }, rules: [{ role: 'any', paths: ['*'] }] })).clusters
}

// Every case twice: jose's WebCrypto signature check, and the Node entry's node:crypto one.
const SIGNATURE_CHECKS = [['jose', undefined], ['node:crypto', createNodeSignatureVerifier()]] as const

const failingFetch: typeof fetch = async (input) => {
  throw new Error(`unexpected fetch of ${String(input)}`)
}

describe.each(SIGNATURE_CHECKS)('real kube-apiserver tokens (signatures by %s)', (_name, verifySignature) => {
  async function verify(jwt: string, clusters: ClusterConfig[], nowMs: number, fetchImpl: typeof fetch = failingFetch) {
    const keys = createClusterKeys(fetchImpl, await createTestCache())
    return verifyServiceAccountToken(jwt, { clusters, keys, now: () => nowMs, verifySignature })
  }

  describe('kind v1.34, auto-mounted (kid, jti, node, warnafter, exp a year out)', () => {
    const kind = async (extra: Record<string, unknown> = {}) =>
      clustersOf([
        {
          name: 'kind',
          issuer: 'https://kubernetes.default.svc.cluster.local',
          audiences: ['https://kubernetes.default.svc.cluster.local'],
          jwks: fixtureJson(`${KIND_2025}/jwks.json`),
          ...extra,
        },
      ])
    const { iat, warnafter } = { iat: payload(KIND_2025).iat!, warnafter: (payload(KIND_2025)['kubernetes.io'] as unknown as { warnafter: number }).warnafter }

    it('verifies with the cluster JWKS a minute after issue and yields the pod identity', async () => {
      const identity = await verify(token(KIND_2025), await kind(), (iat + 60) * 1000)
      expect(identity).toEqual({
        cluster: 'kind',
        namespace: 'default',
        serviceAccount: 'default',
        serviceAccountUid: '8cfa5f15-09ba-4f3d-8167-68aa619f4f7f',
        pod: 'jwt-test',
        podUid: 'e47f05ef-41c3-4f47-a7f4-5075fb3dd6d3',
        // kubernetes.io.node (Kubernetes 1.30+): recorded in the audit trail.
        node: 'kind-control-plane',
      })
    })

    it('verifies through OIDC discovery with the cluster\'s own discovery document and JWKS', async () => {
      const documents: Record<string, string> = {
        'https://kubernetes.default.svc.cluster.local/.well-known/openid-configuration': fixtureText(`${KIND_DISCOVERY}/openid-configuration.json`),
        // jwks_uri points at the API server's private address, as in most self-managed clusters.
        'https://172.20.0.2:6443/openid/v1/jwks': fixtureText(`${KIND_DISCOVERY}/jwks.json`),
      }
      const fetched: string[] = []
      const fixtureFetch: typeof fetch = async (input) => {
        const url = String(input instanceof Request ? input.url : input)
        fetched.push(url)
        const body = documents[url]
        return body === undefined ? new Response('not found', { status: 404 }) : new Response(body, { status: 200 })
      }
      const clusters = (await kind()).map(({ jwks: _inline, ...cluster }) => cluster as ClusterConfig)
      const identity = await verify(token(KIND_2025), clusters, (iat + 60) * 1000, fixtureFetch)
      expect(identity.pod).toBe('jwt-test')
      expect(fetched).toEqual(Object.keys(documents))
    })

    it('is refused once past its warnafter, though its exp is still months away', async () => {
      const reason = await refusalReason(verify(token(KIND_2025), await kind({ maxTokenAgeSeconds: 30 * 86400 }), (warnafter + 3600) * 1000))
      expect(reason).toMatch(/warnafter/)
    })

    it('is refused when older than maxTokenAgeSeconds', async () => {
      const reason = await refusalReason(verify(token(KIND_2025), await kind({ maxTokenAgeSeconds: 600 }), (iat + 3000) * 1000))
      expect(reason).toMatch(/older than maxTokenAgeSeconds/)
    })

    it('is refused by a broker whose audience it does not name', async () => {
      const reason = await refusalReason(verify(token(KIND_2025), await kind({ audiences: ['vault-edge'] }), (iat + 60) * 1000))
      expect(reason).toMatch(/aud holds none of the cluster audiences/)
    })
  })

  describe('minikube v1.12 (2018), projected with kid "" and iss kubernetes/serviceaccount', () => {
    const minikube = async (keys: JWK[]) =>
      clustersOf([{ name: 'minikube', issuer: 'kubernetes/serviceaccount', audiences: ['kubernetes.default.svc'], jwks: { keys } }])
    const { iat, exp } = payload(MINIKUBE_2018)
    const expected = {
      cluster: 'minikube',
      namespace: 'default',
      serviceAccount: 'default',
      serviceAccountUid: 'b389b3b2-d302-11e8-b14c-080027e55ea8',
      pod: 'vault',
      podUid: '1006a06c-d3df-11e8-8fe2-080027e55ea8',
    }

    it('verifies with its key (clock set to when it was valid): the empty kid counts as none', async () => {
      const key = await rsaJwk(fixtureText(`${MINIKUBE_2018}/key.pem`))
      expect(await verify(token(MINIKUBE_2018), await minikube([key]), (iat! + 60) * 1000)).toEqual(expected)
    })

    it('verifies when the JWKS gives the key a kid, as kube-apiserver does today', async () => {
      const key = await rsaJwk(fixtureText(`${MINIKUBE_2018}/key.pem`))
      expect(await verify(token(MINIKUBE_2018), await minikube([{ ...key, kid: 'some-kid' }]), (iat! + 60) * 1000)).toEqual(expected)
    })

    it('tries every key of the type when there is no kid to choose by, and finds the one that signed', async () => {
      const decoys = await Promise.all([createLabSigner('RS256'), createLabSigner('RS256')])
      const key = await rsaJwk(fixtureText(`${MINIKUBE_2018}/key.pem`))
      const keys = [decoys[0].jwk, key, decoys[1].jwk]
      expect(await verify(token(MINIKUBE_2018), await minikube(keys), (iat! + 60) * 1000)).toEqual(expected)
    })

    it('is refused today: it expired in 2020', async () => {
      const key = await rsaJwk(fixtureText(`${MINIKUBE_2018}/key.pem`))
      const reason = await refusalReason(verify(token(MINIKUBE_2018), await minikube([key]), (exp! + 120) * 1000))
      expect(reason).toMatch(/expired/)
    })

    it('is refused with a JWKS that lacks its key', async () => {
      const other = await createLabSigner('RS256')
      const reason = await refusalReason(verify(token(MINIKUBE_2018), await minikube([other.jwk]), (iat! + 60) * 1000))
      expect(reason).toMatch(/signature does not verify/)
    })
  })

  describe('minikube (2017), legacy secret-based token signed with the API server certificate key', () => {
    const legacyCluster = async (name: string, allowLegacyTokens: boolean, jwk?: JWK) => ({
      name,
      issuer: `https://${name}.example:8443`,
      audiences: ['vault-edge'],
      jwks: { keys: [jwk ?? (await certificateJwk(fixtureText(`${LEGACY}/key.pem`)))] },
      allowLegacyTokens,
    })

    it('is refused while no cluster sets allowLegacyTokens', async () => {
      const reason = await refusalReason(verify(token(LEGACY), clustersOf([await legacyCluster('minikube', false)]), Date.now()))
      expect(reason).toMatch(/no cluster sets allowLegacyTokens/)
    })

    it('verifies once its cluster opts in, and reads the identity from the flat claims', async () => {
      const identity = await verify(token(LEGACY), clustersOf([await legacyCluster('minikube', true)]), Date.now())
      expect(identity).toEqual({
        cluster: 'minikube',
        namespace: 'default',
        serviceAccount: 'vault-auth',
        serviceAccountUid: 'd77f89bc-9055-11e7-a068-0800276d99bf',
        pod: undefined,
        podUid: undefined,
      })
    })

    it('is matched to the opted-in cluster whose key signed it, not the first one that opts in', async () => {
      const other = await createLabSigner('RS256')
      const clusters = clustersOf([await legacyCluster('first', true, other.jwk), await legacyCluster('minikube', true)])
      expect((await verify(token(LEGACY), clusters, Date.now())).cluster).toBe('minikube')
    })

    it('is refused when only a cluster with other keys opts in, even if the signing cluster is configured', async () => {
      const other = await createLabSigner('RS256')
      const clusters = clustersOf([await legacyCluster('other', true, other.jwk), await legacyCluster('minikube', false)])
      const reason = await refusalReason(verify(token(LEGACY), clusters, Date.now()))
      expect(reason).toMatch(/legacy token; signature does not verify with any matching key of cluster other/)
    })
  })
})

// k8s/vault/setup-kubernetes-auth.sh run against a private OpenBao for a private cluster whose
// API server answers TokenReview (the cluster issuer stands in for kube-apiserver), as a Vault
// outside the cluster is set up: a reviewer token from k8s/vault/token-reviewer.yaml's
// ServiceAccount. Then OpenBao's own logins, and the broker logging in with the kubernetes
// method and reading a secret.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClusterIssuer, type ClusterIssuer } from '../support/cluster-issuer.ts'
import { findBaoBinary, startOpenBao, type OpenBao } from '../support/openbao.ts'
import { startProcessBroker } from '../support/process-broker.ts'
import { DEMO_SECRET, PLACEHOLDER_CA_PEM, putKv2 } from '../support/seed-openbao.ts'
import { K8S_DIR, findDocument, loadDocuments } from './k8s-manifests.ts'
import { SHELLS, run, tempDir, type Shell } from './k8s-support.ts'

const SETUP = join(K8S_DIR, 'vault', 'setup-kubernetes-auth.sh')
const dir = tempDir('kubernetes-auth')
const documents = loadDocuments()
let bao: OpenBao
let issuer: ClusterIssuer
let reviewerFile: string
let caFile: string
const stops: (() => Promise<void>)[] = []

beforeAll(async () => {
  ;[bao, issuer] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'RS256', issuerPath: '/id/kubernetes-auth' })])
  stops.push(() => bao.stop(), () => issuer.stop())
  await putKv2(bao, 'myapp/config', { ...DEMO_SECRET })
  await putKv2(bao, 'other/config', { secret: 'not for myapp' })
  // The reviewer ServiceAccount of token-reviewer.yaml, with a token for the API server.
  const reviewer = findDocument(documents, 'k8s/vault/token-reviewer.yaml', 'ServiceAccount')
  mkdirSync(dir.path, { recursive: true })
  reviewerFile = join(dir.path, 'reviewer.jwt')
  writeFileSync(reviewerFile, `${await issuer.mint({ namespace: reviewer.namespace, serviceAccount: reviewer.name, expirationSeconds: 3600, pod: null })}\n`)
  // The API server here is plain http: the CA is required by OpenBao but never used.
  caFile = join(dir.path, 'ca.pem')
  writeFileSync(caFile, PLACEHOLDER_CA_PEM)
})
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  dir.cleanup()
})

function setup(settings: Record<string, string>, shell: Shell = 'sh') {
  return run(shell, [SETUP], {
    VAULT_CLI: findBaoBinary()!,
    BAO_ADDR: bao.address,
    BAO_TOKEN: bao.rootToken,
    K8S_HOST: issuer.apiServerUrl,
    K8S_CA_FILE: caFile,
    K8S_TOKEN_REVIEWER_JWT_FILE: reviewerFile,
    K8S_NAMESPACE: 'demo',
    K8S_SERVICE_ACCOUNT: 'myapp',
    VAULT_POLICY_PATHS: 'secret/data/myapp/*',
    ...settings,
  })
}

const podToken = (namespace = 'demo', serviceAccount = 'myapp', audiences = ['vault-edge']) => issuer.mint({ namespace, serviceAccount, audiences, expirationSeconds: 600 })

describe.each<Shell>(SHELLS)('setup-kubernetes-auth.sh under %s', (shell) => {
  const mount = `kubernetes-${shell}`

  it('enables kubernetes auth with a reviewer token, and writes the policy and the role', async () => {
    const result = await setup({ KUBERNETES_MOUNT: mount, K8S_ISSUER: issuer.issuer }, shell)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`enabled the kubernetes auth method at ${mount}/`)
    for (const secret of [bao.rootToken, readFileSync(reviewerFile, 'utf8').trim()]) expect(result.stdout + result.stderr).not.toContain(secret)

    const config = await bao.apiOk('GET', `auth/${mount}/config`)
    expect(config.data).toMatchObject({ kubernetes_host: issuer.apiServerUrl, disable_local_ca_jwt: true, token_reviewer_jwt_set: true, issuer: issuer.issuer })
    expect(config.data.kubernetes_ca_cert).toBe(PLACEHOLDER_CA_PEM)
    const role = await bao.apiOk('GET', `auth/${mount}/role/demo-myapp`)
    expect(role.data).toMatchObject({
      bound_service_account_names: ['myapp'],
      bound_service_account_namespaces: ['demo'],
      audience: 'vault-edge',
      alias_name_source: 'serviceaccount_uid',
      token_policies: ['demo-myapp'],
      token_ttl: 3600,
    })
    const policy = await bao.apiOk('GET', 'sys/policies/acl/demo-myapp')
    expect(policy.data.policy).toBe('path "secret/data/myapp/*" {\n  capabilities = ["read"]\n}\n')
  })

  it('makes a role that logs in exactly the bound ServiceAccount with the broker audience, through TokenReview', async () => {
    const login = (jwt: string) => bao.api('POST', `auth/${mount}/login`, { role: 'demo-myapp', jwt }, { token: null })
    const reviews = issuer.tokenReviewCount()
    const ok = await login(await podToken())
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.auth.policies).toEqual(['default', 'demo-myapp'])
    expect(issuer.tokenReviewCount()).toBeGreaterThan(reviews)
    for (const jwt of [await podToken('demo', 'intruder'), await podToken('other', 'myapp'), await podToken('demo', 'myapp', ['https://kubernetes.default.svc'])]) {
      expect((await login(jwt)).status).toBeGreaterThanOrEqual(400)
    }
  })

  it('can run again: the mount exists, config, policy and role are rewritten', async () => {
    const result = await setup({ KUBERNETES_MOUNT: mount }, shell)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`auth method at ${mount}/ exists`)
  })
})

describe('setup-kubernetes-auth.sh input checks', () => {
  it('refuses what would need escaping or cannot work, before writing anything', async () => {
    const notJwt = join(dir.path, 'not-a-jwt')
    writeFileSync(notJwt, 'hello "world"')
    for (const [name, value] of [
      ['K8S_HOST', 'kubernetes.default.svc'],
      ['K8S_HOST', 'https://x/"'],
      ['K8S_NAMESPACE', 'demo"'],
      ['K8S_SERVICE_ACCOUNT', 'My App'],
      ['VAULT_POLICY_PATHS', 'secret/data/x" { capabilities = ["sudo"] } path "y'],
      ['K8S_TOKEN_REVIEWER_JWT_FILE', notJwt],
      ['K8S_CA_FILE', notJwt],
    ] as const) {
      const result = await setup({ KUBERNETES_MOUNT: 'kubernetes-refused', [name]: value })
      expect(result.code, `${name}=${value}`).toBe(1)
    }
    const noCa = await setup({ KUBERNETES_MOUNT: 'kubernetes-refused', K8S_HOST: 'https://api.example.com:6443', K8S_CA_FILE: '' })
    expect(noCa.stderr).toContain('K8S_CA_FILE is needed')
    expect((await setup({ K8S_HOST: '' })).stderr).toContain('K8S_HOST is not set')
    const mounts = await bao.apiOk('GET', 'sys/auth')
    expect(Object.keys(mounts.data ?? mounts)).not.toContain('kubernetes-refused/')
  })
})

describe('the broker logging in with the kubernetes method setup-kubernetes-auth.sh configured', () => {
  it('serves a pod of demo/myapp its secret, and refuses a path outside its policy', async () => {
    const result = await setup({})
    expect(result.code, result.stderr).toBe(0)
    const config = {
      clusters: [{ name: 'prod', issuer: issuer.issuer, jwksUri: issuer.jwksUri, audiences: ['vault-edge'], vaultAuthMethod: 'kubernetes' }],
      vault: { address: bao.address },
      rules: [{ cluster: 'prod', namespace: 'demo', serviceAccount: 'myapp', role: '{namespace}-{serviceAccount}', paths: ['secret/data/myapp/*', 'secret/data/other/*'] }],
    }
    const broker = await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(config), CACHE_ENCRYPTION_KEY: randomBytes(32).toString('base64') })
    stops.push(() => broker.stop())
    const token = await podToken()
    const reviews = issuer.tokenReviewCount()
    const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(DEMO_SECRET)
    expect(issuer.tokenReviewCount()).toBe(reviews + 1) // OpenBao asked the API server
    // The broker's rule allows it; OpenBao's policy from the script does not.
    const denied = await fetch(`${broker.url}/v1/secrets/secret/data/other/config`, { headers: { Authorization: `Bearer ${token}` } })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toMatchObject({ code: 'vault_denied' })
    expect(broker.output()).not.toContain(token)
  })
})

// SPEC §4: the pod's own token logs in with the jwt auth method (OpenBao verifies it again
// against the cluster's keys) or the kubernetes auth method (OpenBao asks the cluster's
// TokenReview); several clusters sit on one OpenBao, each with its own auth mount and method;
// and an OpenBao namespace (X-Vault-Namespace) holds the whole setup of a tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BROKER_AUDIENCE } from '../support/broker-config.ts'
import { startClusterIssuer, type ClusterIssuer } from '../support/cluster-issuer.ts'
import { issuerStats, recreateServiceAccount } from '../support/mint.ts'
import { configureJwtAuth, enableAuth, enableSecrets, PLACEHOLDER_CA_PEM, putKv2 } from '../support/seed-openbao.ts'
import { brokerConfig, createJwtRole, podToken, sharedStack, startTestBroker, targetOf, unique } from './support/vault-stack.ts'

const { openbao, issuerUrl } = sharedStack()
const target = targetOf(openbao)
const serviceAccount = unique('auth')
const secretPath = `secret/data/vault-tests/${serviceAccount}/config`
const policy = `path "${secretPath}" { capabilities = ["read"] }\n`
const jwtMount = unique('jwt-second')
const k8sMount = unique('k8s-second')
const rule = { namespace: 'vault-tests', serviceAccount, role: serviceAccount, paths: ['secret/data/vault-tests/*'] }
let second: ClusterIssuer

/** A kubernetes auth role for the test's ServiceAccount (bound by name, namespace and audience). */
async function writeKubernetesRole(mount: string): Promise<void> {
  await openbao.apiOk('POST', `auth/${mount}/role/${serviceAccount}`, {
    bound_service_account_names: [serviceAccount],
    bound_service_account_namespaces: ['vault-tests'],
    audience: BROKER_AUDIENCE,
    token_policies: [serviceAccount],
    token_ttl: '1h',
  })
}

beforeAll(async () => {
  await putKv2(target, `vault-tests/${serviceAccount}/config`, { owner: serviceAccount })
  // jwt at the default mount, kubernetes at the seeded `kubernetes` mount (the shared cluster).
  await createJwtRole(target, { role: serviceAccount, serviceAccount, policy })
  await writeKubernetesRole('kubernetes')

  // A second cluster on the same OpenBao: its own issuer, keys and API server.
  second = await startClusterIssuer({ algorithm: 'ES256' })
  await configureJwtAuth(target, { mount: jwtMount, issuerUrl: second.issuer })
  await createJwtRole(target, { role: serviceAccount, serviceAccount, policy, mount: jwtMount })
  await enableAuth(target, k8sMount, 'kubernetes')
  await openbao.apiOk('POST', `auth/${k8sMount}/config`, {
    kubernetes_host: second.apiServerUrl,
    disable_local_ca_jwt: true,
    kubernetes_ca_cert: PLACEHOLDER_CA_PEM,
    token_reviewer_jwt: await second.mint({ namespace: 'openbao', serviceAccount: 'openbao-auth', expirationSeconds: 3600, pod: null }),
  })
  await writeKubernetesRole(k8sMount)
})
afterAll(async () => {
  await second?.stop()
})

const loginsAt = async (mount: string, since: { offset: number }) =>
  openbao.countRequests({ since, path: `auth/${mount}/login`, error: false, metadata: { service_account_name: serviceAccount } })

async function read(config: Record<string, unknown>, token: string) {
  const broker = await startTestBroker(config)
  const response = await broker.call(`/v1/secrets/${secretPath}`, token)
  return { status: response.status, body: await response.json() }
}

describe('jwt auth method', () => {
  it('logs in at the default mount with the pod token, which OpenBao verifies again', async () => {
    const since = await openbao.auditMark()
    const token = await podToken({ serviceAccount })
    const config = brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', ...rule }] })
    expect(await read(config, token)).toEqual({ status: 200, body: { owner: serviceAccount } })
    expect(await loginsAt('jwt', since)).toBe(1)
  })

  it("is refused by OpenBao for a ServiceAccount the role's bound_claims do not name", async () => {
    const token = await podToken({ serviceAccount: `${serviceAccount}-other` })
    const config = brokerConfig({ openbaoAddr: openbao.address, rules: [{ cluster: 'local', ...rule, serviceAccount: '*' }] })
    const { status, body } = await read(config, token)
    expect(status).toBe(403)
    expect(body).toMatchObject({ code: 'vault_denied' })
  })
})

describe('kubernetes auth method', () => {
  it("logs in through the cluster's TokenReview when the cluster says kubernetes", async () => {
    const since = await openbao.auditMark()
    const reviewsBefore = (await issuerStats(issuerUrl)).tokenReviews
    const token = await podToken({ serviceAccount })
    const config = brokerConfig({ openbaoAddr: openbao.address, cluster: { vaultAuthMethod: 'kubernetes' }, rules: [{ cluster: 'local', ...rule }] })
    expect(await read(config, token)).toEqual({ status: 200, body: { owner: serviceAccount } })
    expect(await loginsAt('kubernetes', since)).toBe(1)
    expect(await loginsAt('jwt', since)).toBe(0)
    expect((await issuerStats(issuerUrl)).tokenReviews).toBeGreaterThan(reviewsBefore)
  })

  it('is refused when TokenReview no longer knows the ServiceAccount (recreated: new uid)', async () => {
    const sa = unique('auth-gone')
    await writeKubernetesRoleFor(sa)
    const token = await podToken({ serviceAccount: sa })
    await recreateServiceAccount(issuerUrl, 'vault-tests', sa)
    const config = brokerConfig({ openbaoAddr: openbao.address, cluster: { vaultAuthMethod: 'kubernetes' }, rules: [{ cluster: 'local', ...rule, serviceAccount: sa, role: sa }] })
    const { status, body } = await read(config, token)
    expect(status).toBe(403)
    expect(body).toMatchObject({ code: 'vault_denied' })
  })
})

async function writeKubernetesRoleFor(sa: string): Promise<void> {
  await openbao.apiOk('POST', `auth/kubernetes/role/${sa}`, {
    bound_service_account_names: [sa],
    bound_service_account_namespaces: ['vault-tests'],
    audience: BROKER_AUDIENCE,
    token_policies: [serviceAccount],
  })
}

describe('several clusters on one OpenBao', () => {
  const clusters = (secondCluster: Record<string, unknown>, local: Record<string, unknown> = {}) => [
    { name: 'local', issuer: issuerUrl, audiences: [BROKER_AUDIENCE], ...local },
    { name: 'second', issuer: second.issuer, audiences: [BROKER_AUDIENCE], ...secondCluster },
  ]
  const rules = [
    { cluster: 'local', ...rule },
    { cluster: 'second', ...rule },
  ]

  it("each logs in at its own jwt mount, with its own cluster's keys", async () => {
    const since = await openbao.auditMark()
    const config = brokerConfig({ openbaoAddr: openbao.address, clusters: clusters({ vaultAuthMount: jwtMount }), rules })
    const broker = await startTestBroker(config)
    const fromLocal = await podToken({ serviceAccount })
    const fromSecond = await second.mint({ namespace: 'vault-tests', serviceAccount, audiences: [BROKER_AUDIENCE], pod: unique('pod') })
    for (const token of [fromLocal, fromSecond]) {
      const response = await broker.call(`/v1/secrets/${secretPath}`, token)
      expect(response.status).toBe(200)
    }
    expect(await loginsAt('jwt', since)).toBe(1)
    expect(await loginsAt(jwtMount, since)).toBe(1)
  })

  it('each uses its own auth method and mount: kubernetes against its own API server', async () => {
    const since = await openbao.auditMark()
    const reviewsBefore = second.tokenReviewCount()
    const config = brokerConfig({
      openbaoAddr: openbao.address,
      clusters: clusters({ vaultAuthMethod: 'kubernetes', vaultAuthMount: k8sMount }),
      rules,
    })
    const broker = await startTestBroker(config)
    const fromLocal = await podToken({ serviceAccount })
    const fromSecond = await second.mint({ namespace: 'vault-tests', serviceAccount, audiences: [BROKER_AUDIENCE], pod: unique('pod') })
    for (const token of [fromLocal, fromSecond]) expect((await broker.call(`/v1/secrets/${secretPath}`, token)).status).toBe(200)
    expect(await loginsAt('jwt', since)).toBe(1)
    expect(await loginsAt(k8sMount, since)).toBe(1)
    expect(second.tokenReviewCount()).toBeGreaterThan(reviewsBefore)
  })
})

describe('OpenBao namespaces', () => {
  const namespace = unique('tenant')

  beforeAll(async () => {
    await openbao.apiOk('POST', `sys/namespaces/${namespace}`, {})
    const inNamespace = targetOf(openbao, namespace)
    await configureJwtAuth(inNamespace, { issuerUrl })
    await createJwtRole(inNamespace, { role: serviceAccount, serviceAccount, policy })
    await enableSecrets(inNamespace, 'secret', 'kv', { version: '2' })
    await putKv2(inNamespace, `vault-tests/${serviceAccount}/config`, { owner: `${serviceAccount} in ${namespace}` })
  })

  it('logs in and reads inside the configured namespace (X-Vault-Namespace)', async () => {
    const since = await openbao.auditMark()
    const token = await podToken({ serviceAccount })
    const config = brokerConfig({ openbaoAddr: openbao.address, vault: { namespace }, rules: [{ cluster: 'local', ...rule }] })
    expect(await read(config, token)).toEqual({ status: 200, body: { owner: `${serviceAccount} in ${namespace}` } })
    const entries = await openbao.auditEntries({ since, metadata: { service_account_name: serviceAccount } })
    const namespaces = entries.map((entry) => (entry.request.namespace as { path?: string } | undefined)?.path)
    expect(entries.map((entry) => entry.request.path)).toEqual(['auth/jwt/login', secretPath])
    expect(namespaces).toEqual([`${namespace}/`, `${namespace}/`])
  })
})

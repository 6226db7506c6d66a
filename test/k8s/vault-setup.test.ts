// k8s/vault/setup-jwt-auth.sh run against a private OpenBao for a private cluster issuer
// signing with ES256 (which OpenBao refuses unless jwt_supported_algs says otherwise), then
// the broker started as k8s/broker/vault-edge.yaml starts it, and a pod reading through it.
// The External Secrets Operator path (k8s/migration/eso/) runs here too: the token
// refresher against a stand-in API server, then the webhook store's requests and JSONPath.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { JSONPath } from 'jsonpath-plus'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClusterIssuer, type ClusterIssuer } from '../support/cluster-issuer.ts'
import { getFreePort } from '../support/free-port.ts'
import { findBaoBinary, startOpenBao, type OpenBao } from '../support/openbao.ts'
import { spawnServer } from '../support/process-broker.ts'
import { DEMO_SECRET, putKv2 } from '../support/seed-openbao.ts'
import { K8S_DIR, REPO_ROOT, envOf, findDocument, loadDocuments, podSpecOf } from './k8s-manifests.ts'
import { NODE, SCRIPTS, SHELLS, run, tempDir, type Shell } from './k8s-support.ts'

const SETUP = join(K8S_DIR, 'vault', 'setup-jwt-auth.sh')
const documents = loadDocuments()
const dir = tempDir('vault-setup')

let bao: OpenBao
let issuer: ClusterIssuer
let broker: { url: string; output: () => string; stop: () => Promise<void> }
const stops: (() => Promise<void>)[] = []

const podToken = (namespace = 'demo', serviceAccount = 'myapp', audiences = ['vault-edge']) =>
  issuer.mint({ namespace, serviceAccount, audiences, expirationSeconds: 600 })

/** setup-jwt-auth.sh with the CLI pointed at the private OpenBao. */
function setup(settings: Record<string, string>, shell: Shell = 'sh') {
  return run(shell, [SETUP], {
    VAULT_CLI: findBaoBinary()!,
    BAO_ADDR: bao.address,
    BAO_TOKEN: bao.rootToken,
    VAULT_ADDR: bao.address,
    VAULT_TOKEN: bao.rootToken,
    K8S_ISSUER: issuer.issuer,
    ...settings,
  })
}

/** Starts the broker with the command, environment and probes of k8s/broker/vault-edge.yaml. */
async function startBrokerAsDeployed(config: unknown) {
  const deployment = findDocument(documents, 'k8s/broker/vault-edge.yaml', 'Deployment', 'vault-edge')
  const container = podSpecOf(deployment).containers[0]
  const port = await getFreePort()
  const [command, ...args] = container.command as string[]
  expect(command).toBe('node')
  const { TLS_CERT_FILE: _cert, TLS_KEY_FILE: _key, ...deployedEnv } = envOf(container)
  const env: Record<string, string> = {
    ...deployedEnv,
    // The pod's paths and interface, moved to this machine: on loopback, without cert-manager's
    // files, it serves plain HTTP (HTTPS as deployed: test/adapters/https-server.test.ts).
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_EXTRA_CA_CERTS: '',
    BROKER_CONFIG: JSON.stringify(config),
    CACHE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  }
  // workingDir /app is the repository root in the image (k8s/broker/Dockerfile).
  const broker = await spawnServer({
    label: 'the broker as deployed',
    file: NODE,
    args,
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env },
    url: `http://127.0.0.1:${port}`,
    readyPath: container.readinessProbe.httpGet.path,
  })
  stops.push(broker.stop)
  return { url: broker.url, output: broker.output, stop: broker.stop, container }
}

beforeAll(async () => {
  ;[bao, issuer] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'ES256', issuerPath: '/id/vault-edge-k8s' })])
  stops.push(() => bao.stop(), () => issuer.stop())
  await putKv2(bao, 'myapp/config', { ...DEMO_SECRET })
  await putKv2(bao, 'other/config', { secret: 'not for myapp' })
})
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {})
  dir.cleanup()
})

describe.each<Shell>(SHELLS)('setup-jwt-auth.sh under %s', (shell) => {
  const mount = shell === 'sh' ? 'jwt' : 'jwt-busybox'

  it('enables jwt auth, trusts the cluster issuer by OIDC discovery and writes the policy and the role', async () => {
    const result = await setup({ JWT_MOUNT: mount, K8S_NAMESPACE: 'demo', K8S_SERVICE_ACCOUNT: 'myapp', VAULT_POLICY_PATHS: 'secret/data/myapp/*' }, shell)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`enabled the jwt auth method at ${mount}/`)
    expect(result.stdout + result.stderr).not.toContain(bao.rootToken)

    const config = await bao.apiOk('GET', `auth/${mount}/config`)
    expect(config.data).toMatchObject({
      oidc_discovery_url: issuer.issuer,
      bound_issuer: issuer.issuer,
      jwt_supported_algs: ['RS256', 'ES256', 'ES384', 'ES512'],
    })
    const role = await bao.apiOk('GET', `auth/${mount}/role/demo-myapp`)
    expect(role.data).toMatchObject({
      role_type: 'jwt',
      bound_audiences: ['vault-edge'],
      user_claim: 'sub',
      bound_claims_type: 'string',
      bound_claims: { '/kubernetes.io/namespace': 'demo', '/kubernetes.io/serviceaccount/name': 'myapp' },
      token_policies: ['demo-myapp'],
      token_ttl: 3600,
    })
    const policy = await bao.apiOk('GET', 'sys/policies/acl/demo-myapp')
    expect(policy.data.policy).toBe('path "secret/data/myapp/*" {\n  capabilities = ["read"]\n}\n')
  })

  it('makes a role that logs in exactly the bound ServiceAccount with the broker audience', async () => {
    const login = (jwt: string) => bao.api('POST', `auth/${mount}/login`, { role: 'demo-myapp', jwt }, { token: null })
    const ok = await login(await podToken())
    expect(ok.status).toBe(200)
    expect(ok.body.auth.policies).toEqual(['default', 'demo-myapp'])
    expect(ok.body.auth.metadata).toMatchObject({ service_account_namespace: 'demo', service_account_name: 'myapp' })
    expect((await login(await podToken('demo', 'intruder'))).status).toBe(400)
    expect((await login(await podToken('other', 'myapp'))).status).toBe(400)
    expect((await login(await podToken('demo', 'myapp', ['https://kubernetes.default.svc']))).status).toBe(400)
  })

  it('can run again: the mount exists, config, policy and role are rewritten', async () => {
    const result = await setup({ JWT_MOUNT: mount, K8S_NAMESPACE: 'demo', K8S_SERVICE_ACCOUNT: 'myapp', VAULT_POLICY_PATHS: 'secret/data/myapp/*' }, shell)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain(`auth method at ${mount}/ exists`)
  })
})

describe('setup-jwt-auth.sh with keys instead of discovery', () => {
  it('configures jwt_validation_pubkeys from the JWKS via jwks-to-pem.mjs (`kubectl get --raw /openid/v1/jwks | …`)', async () => {
    await issuer.rotateKey({ keepPrevious: true }) // two keys in the JWKS: both must be accepted
    const jwks = await (await fetch(issuer.jwksUri)).text()
    const pem = spawnSync(NODE, [join(K8S_DIR, 'vault', 'jwks-to-pem.mjs')], { input: jwks, encoding: 'utf8' })
    expect(pem.status, pem.stderr).toBe(0)
    expect(pem.stderr).toContain('wrote 2 public key(s)')
    const keysFile = join(dir.path, 'keys.pem')
    writeFileSync(keysFile, pem.stdout)

    const result = await setup({
      JWT_MOUNT: 'jwt-pubkeys',
      K8S_JWKS_MODE: 'pubkeys',
      K8S_PUBKEYS_FILE: keysFile,
      K8S_NAMESPACE: 'demo',
      K8S_SERVICE_ACCOUNT: 'myapp',
      VAULT_POLICY_PATHS: 'secret/data/myapp/*',
    })
    expect(result.code, result.stderr).toBe(0)
    const config = await bao.apiOk('GET', 'auth/jwt-pubkeys/config')
    expect(config.data.jwt_validation_pubkeys).toHaveLength(2)
    expect(config.data.oidc_discovery_url).toBe('')
    const login = await bao.api('POST', 'auth/jwt-pubkeys/login', { role: 'demo-myapp', jwt: await podToken() }, { token: null })
    expect(login.status).toBe(200)
    const viaOldKey = await bao.api('POST', 'auth/jwt-pubkeys/login', { role: 'demo-myapp', jwt: await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: ['vault-edge'], key: 'previous' }) }, { token: null })
    expect(viaOldKey.status).toBe(200)
  })

  it('refuses values that would have to be escaped, before writing anything', async () => {
    for (const [name, value] of [
      ['K8S_NAMESPACE', 'demo"'],
      ['K8S_NAMESPACE', 'demo\nevil'],
      ['K8S_SERVICE_ACCOUNT', 'My App'],
      ['VAULT_POLICY_PATHS', 'secret/data/x" { capabilities = ["sudo"] } path "y'],
      ['K8S_ISSUER', 'https://x/"'],
    ] as const) {
      const result = await setup({ JWT_MOUNT: 'jwt-refused', K8S_NAMESPACE: 'demo', K8S_SERVICE_ACCOUNT: 'myapp', VAULT_POLICY_PATHS: 'secret/data/myapp/*', [name]: value })
      expect(result.code, `${name}=${value}`).toBe(1)
    }
    const missing = await setup({ K8S_NAMESPACE: 'demo', K8S_SERVICE_ACCOUNT: 'myapp' })
    expect(missing.stderr).toContain('VAULT_POLICY_PATHS is not set')
    const mounts = await bao.apiOk('GET', 'sys/auth')
    expect(Object.keys(mounts.data ?? mounts)).not.toContain('jwt-refused/')
  })
})

describe('the broker as k8s/broker/vault-edge.yaml runs it, on the Vault that setup-jwt-auth.sh configured', () => {
  beforeAll(async () => {
    // The manifest's BROKER_CONFIG, pointed at this issuer and this OpenBao, plus the rule
    // for the ESO identity of k8s/migration/eso/.
    const config = JSON.parse(findDocument(documents, 'k8s/broker/vault-edge.yaml', 'ConfigMap', 'vault-edge-config').body.data['config.json'])
    config.clusters[0].issuer = issuer.issuer
    config.clusters[0].jwksUri = issuer.jwksUri
    delete config.clusters[0].caCert // this issuer is plain HTTP
    config.vault.address = bao.address
    config.rules.push({ cluster: 'in-cluster', namespace: 'external-secrets', serviceAccount: 'vault-edge-eso', role: '{namespace}-{serviceAccount}', paths: ['secret/data/myapp/config'] })
    const eso = await setup({ K8S_NAMESPACE: 'external-secrets', K8S_SERVICE_ACCOUNT: 'vault-edge-eso', VAULT_POLICY_PATHS: 'secret/data/myapp/config' })
    expect(eso.code, eso.stderr).toBe(0)
    broker = await startBrokerAsDeployed(config)
  })

  it('answers its liveness and readiness probes', async () => {
    expect(await (await fetch(`${broker.url}/healthz`)).json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${broker.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready', vault: 'ok' })
  })

  it('serves a pod of demo/myapp its secret through the role the script made', async () => {
    const token = await podToken()
    const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(DEMO_SECRET)
    const outside = await fetch(`${broker.url}/v1/secrets/secret/data/other/config`, { headers: { Authorization: `Bearer ${token}` } })
    expect(outside.status).toBe(403)
    expect(broker.output()).not.toContain(token)
  })

  describe('External Secrets Operator through the webhook provider (k8s/migration/eso/)', () => {
    let apiServer: Server
    let apiUrl: string
    const requests: { method: string; path: string; contentType: string | undefined; authorization: string | undefined; body: any }[] = []
    const secretData: Record<string, string> = {}
    const refresherApiToken = `refresher-${randomBytes(8).toString('hex')}`

    beforeAll(async () => {
      // A stand-in for the two API-server calls the refresher makes (TokenRequest, Secret
      // merge patch); the token it hands out is a real one from the cluster issuer.
      apiServer = createServer(async (req, res) => {
        const body = await readBody(req)
        const path = new URL(req.url!, 'http://x').pathname
        requests.push({ method: req.method!, path, contentType: req.headers['content-type'], authorization: req.headers.authorization, body })
        if (req.headers.authorization !== `Bearer ${refresherApiToken}`) return send(res, 401, { kind: 'Status', code: 401 })
        if (req.method === 'POST' && path === '/api/v1/namespaces/external-secrets/serviceaccounts/vault-edge-eso/token') {
          const token = await issuer.mint({ namespace: 'external-secrets', serviceAccount: 'vault-edge-eso', audiences: body.spec.audiences, expirationSeconds: body.spec.expirationSeconds, pod: null })
          return send(res, 201, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', spec: body.spec, status: { token, expirationTimestamp: new Date(Date.now() + body.spec.expirationSeconds * 1000).toISOString() } })
        }
        if (req.method === 'PATCH' && path === '/api/v1/namespaces/external-secrets/secrets/vault-edge-eso-token') {
          Object.assign(secretData, body.stringData)
          return send(res, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'vault-edge-eso-token' } })
        }
        send(res, 404, { kind: 'Status', code: 404 })
      })
      await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve))
      apiUrl = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((resolve) => apiServer.close(() => resolve())))

    it.each<Shell>(SHELLS)('the CronJob script keeps a bounded TokenRequest token in the Secret (%s)', async (shell) => {
      const cronJob = findDocument(documents, 'k8s/migration/eso/token-refresher.yaml', 'CronJob')
      const container = podSpecOf(cronJob).containers[0]
      expect(container.command).toEqual(['/bin/sh', '/opt/vault-edge/refresh-token-secret.sh'])
      const saDir = join(dir.path, `refresher-${shell}`)
      mkdirSync(saDir, { recursive: true })
      writeFileSync(join(saDir, 'token'), refresherApiToken)
      writeFileSync(join(saDir, 'namespace'), 'external-secrets')
      requests.length = 0
      const result = await run(shell, [join(SCRIPTS, 'refresh-token-secret.sh')], {
        ...envOf(container),
        TMPDIR: dir.path,
        KUBE_SA_DIR: saDir,
        KUBERNETES_API: apiUrl,
      })
      expect(result.code, result.stderr).toBe(0)
      expect(requests.map(({ method, path, contentType }) => [method, path, contentType])).toEqual([
        ['POST', '/api/v1/namespaces/external-secrets/serviceaccounts/vault-edge-eso/token', 'application/json'],
        ['PATCH', '/api/v1/namespaces/external-secrets/secrets/vault-edge-eso-token', 'application/merge-patch+json'],
      ])
      expect(requests[0]!.body).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['vault-edge'], expirationSeconds: 86400 } })
      expect(Object.keys(requests[1]!.body)).toEqual(['stringData'])
      expect(secretData.token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(result.stdout + result.stderr).not.toContain(secretData.token)
      expect(result.stdout + result.stderr).not.toContain(refresherApiToken)
    })

    it('the webhook store reads every ExternalSecret property from the broker JSON with its JSONPath', async () => {
      expect(secretData.token).toBeDefined()
      const store = findDocument(documents, 'k8s/migration/eso/after.yaml', 'ClusterSecretStore').body.spec.provider.webhook
      const externalSecret = findDocument(documents, 'k8s/migration/eso/after.yaml', 'ExternalSecret').body
      // The store's secrets, as ESO passes them to its templates: name → the Secret's data.
      const secrets = Object.fromEntries(store.secrets.map((entry: any) => [entry.name, entry.secretRef.name === 'vault-edge-eso-token' ? secretData : {}]))
      const synced: Record<string, string> = {}
      for (const { secretKey, remoteRef } of externalSecret.spec.data) {
        // ESO (pkg/common/webhook): the URL is rendered with query-escaped remoteRef values,
        // headers and the JSONPath with the raw ones.
        const url = goTemplate(store.url, { remoteRef: mapValues(remoteRef, goQueryEscape), ...secrets }).replace('https://vault-edge.vault-edge.svc.cluster.local', broker.url)
        expect(url).toContain('/v1/secrets/secret/data/myapp%2Fconfig?format=json')
        const headers = mapValues(store.headers, (value: string) => goTemplate(value, { remoteRef, ...secrets }))
        const response = await fetch(url, { method: store.method, headers })
        expect(response.status).toBe(200)
        const jsonPath = goTemplate(store.result.jsonPath, { remoteRef, ...secrets })
        const value: unknown = JSONPath({ path: jsonPath, json: await response.json(), wrap: false })
        expect(typeof value).toBe('string')
        synced[secretKey] = value as string
      }
      expect(synced).toEqual({ DB_USER: DEMO_SECRET.username, DB_PASSWORD: DEMO_SECRET.password })
    })

    it('the ESO identity reads only what its rule and role allow', async () => {
      const headers = { Authorization: `Bearer ${secretData.token}` }
      expect((await fetch(`${broker.url}/v1/secrets/secret/data/other/config?format=json`, { headers })).status).toBe(403)
    })
  })
})

const mapValues = <T, U>(object: Record<string, T>, map: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value)]))

/** Go's url.QueryEscape: encodeURIComponent, plus !'()* escaped and space as '+'. */
const goQueryEscape = (value: string) =>
  encodeURIComponent(value)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')

/** The part of Go's text/template these templates use: `{{ .a.b }}`. Anything else fails the test. */
function goTemplate(template: string, data: Record<string, any>): string {
  const out = template.replace(/\{\{\s*\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\s*\}\}/g, (_match, a: string, b: string) => {
    const value = data[a]?.[b]
    if (typeof value !== 'string') throw new Error(`template field .${a}.${b} is not set`)
    return value
  })
  if (out.includes('{{')) throw new Error(`unsupported template syntax in ${template}`)
  return out
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? undefined : JSON.parse(text)
}

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

// k8s/examples/node-app run as its Deployment runs it (`node /app/app.mjs` with the
// manifest's environment), on Node 22 and on the system's Node, against the broker.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { killOnExit, killProcessGroup } from '../support/child-process.ts'
import { getFreePort } from '../support/free-port.ts'
import type { ProcessBroker } from '../support/process-broker.ts'
import { DEMO_SECRET } from '../support/seed-openbao.ts'
import { K8S_DIR, envOf, findDocument, loadDocuments, podSpecOf } from './k8s-manifests.ts'
import { NODE, eventually, startDemoBroker, tempDir, writePodToken } from './k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const APP_DIR = join(K8S_DIR, 'examples', 'node-app')
const container = podSpecOf(findDocument(loadDocuments(), 'k8s/examples/node-app/deployment.yaml', 'Deployment')).containers[0]
const SYSTEM_NODE = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } }).stdout.trim()

let broker: ProcessBroker
const dir = tempDir('node-app')
beforeAll(async () => {
  broker = await startDemoBroker(issuerUrl, openbaoAddr)
})
afterAll(async () => {
  await broker?.stop()
  dir.cleanup()
})

function startApp(node: string, env: Record<string, string>) {
  // `node /app/app.mjs`, with /app being the example's directory.
  expect(container.command).toEqual(['node', '/app/app.mjs'])
  const child = spawn(node, [join(APP_DIR, 'app.mjs')], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const unregister = killOnExit(child)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exited, stop: async () => (unregister(), await killProcessGroup(child)) }
}

describe.each([
  ['Node 22', NODE, 'node22'],
  ['the system Node', SYSTEM_NODE, 'system'],
])('the Node example on %s', (_name, node, slug) => {
  it('fetches the secret at start-up with the projected token and serves with it', async () => {
    const { file } = await writePodToken(join(dir.path, `${slug}-ok`), issuerUrl)
    const port = await getFreePort()
    const app = startApp(node, { ...envOf(container), VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: file, PORT: String(port), HOST: '127.0.0.1' })
    try {
      await eventually(() => (app.output().includes('listening') ? true : undefined), 20_000, 'the app to listen')
      expect(app.output()).toContain('with 2 secret keys (password, username)')
      expect(app.output()).not.toContain(DEMO_SECRET.password)
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).json()).toEqual({ keys: ['password', 'username'] })
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' })
    } finally {
      await app.stop()
    }
  })

  it('returns the values exactly as stored from getSecret() and fetchSecrets()', async () => {
    const { file } = await writePodToken(join(dir.path, `${slug}-values`), issuerUrl)
    const program = `import { fetchSecrets, getSecret } from ${JSON.stringify(join(APP_DIR, 'vault-edge-client.mjs'))}
const secrets = await getSecret('secret/data/myapp/config')
const again = await fetchSecrets({ path: 'secret/data/myapp/config' })
process.stdout.write(JSON.stringify([secrets, again]))`
    const result = spawnSync(node, ['--input-type=module', '-e', program], { encoding: 'utf8', env: { VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: file } })
    expect(result.status, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([DEMO_SECRET, DEMO_SECRET])
  })

  it('does not start when the broker refuses it, and says why without the token', async () => {
    const { file, token } = await writePodToken(join(dir.path, `${slug}-denied`), issuerUrl, { namespace: 'other' })
    const app = startApp(node, { ...envOf(container), VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: file, PORT: '0' })
    expect(await app.exited).toBe(1)
    expect(app.output()).toMatch(/myapp: cannot start without secrets: vault-edge answered 403 for secret\/data\/myapp\/config: forbidden .*\[request [\w-]+\]/)
    expect(app.output()).not.toContain(token)
  })

  it('does not start without its token file, and names the path', async () => {
    const app = startApp(node, { ...envOf(container), VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: join(dir.path, 'missing', 'token') })
    expect(await app.exited).toBe(1)
    expect(app.output()).toMatch(/cannot read the ServiceAccount token at .*missing\/token \(ENOENT\)/)
  })
})

// The init-container pattern run for real: the init container's command and environment
// from k8s/app/init-container.yaml, then the app container's command sourcing the file,
// under dash and under busybox ash, against the broker (Node entry) and OpenBao.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DEMO_SECRET } from '../support/seed-openbao.ts'
import { getFreePort } from '../support/free-port.ts'
import type { ProcessBroker } from '../support/process-broker.ts'
import { envOf, findDocument, loadDocuments, mountedFile, podSpecOf, type K8sDocument } from './k8s-manifests.ts'
import { NODE, SCRIPTS, SHELLS, run, startDemoBroker, tempDir, writeEnvDumpApp, writePodToken, type Shell } from './k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const documents = loadDocuments()
const pod = podSpecOf(findDocument(documents, 'k8s/app/init-container.yaml', 'Deployment'))
const initContainer = pod.initContainers[0]
const appContainer = pod.containers[0]
const FETCH = join(SCRIPTS, 'fetch-secrets.sh')

let broker: ProcessBroker
const dir = tempDir('init')
afterAll(async () => {
  await broker?.stop()
  dir.cleanup()
})
beforeAll(async () => {
  broker = await startDemoBroker(issuerUrl, openbaoAddr)
})

/** The init container as the manifest declares it, with its paths moved into `root`. */
function initEnv(root: string, tokenFile: string, overrides: Record<string, string> = {}): Record<string, string> {
  const env = envOf(initContainer)
  expect(initContainer.command).toEqual(['/bin/sh', '/opt/vault-edge/fetch-secrets.sh'])
  return {
    ...env,
    VAULT_EDGE_URL: broker.url,
    // The test broker listens on loopback without TLS.
    VAULT_EDGE_ALLOW_HTTP: '1',
    VAULT_EDGE_TOKEN_FILE: tokenFile,
    VAULT_EDGE_OUTPUT: env.VAULT_EDGE_OUTPUT!.replace('/vault/secrets', join(root, 'vault-secrets')),
    ...overrides,
  }
}

/**
 * The init container of a migration manifest, run as declared: its env, with the broker's
 * URL, the token and the output moved here, and the ConfigMap file it reads (bundle or
 * template) written where it points.
 */
function migrationInit(doc: K8sDocument, root: string, tokenFile: string, fileVariable: string) {
  const spec = podSpecOf(doc)
  const init = spec.initContainers[0]
  expect(init.command).toEqual(['/bin/sh', '/opt/vault-edge/fetch-secrets.sh'])
  const env = envOf(init)
  const input = join(root, 'configmap', env[fileVariable]!.split('/').pop()!)
  mkdirSync(join(root, 'configmap'), { recursive: true })
  writeFileSync(input, mountedFile(documents, doc, init, env[fileVariable]!)!)
  const output = env.VAULT_EDGE_OUTPUT!.replace('/vault/secrets', join(root, 'vault-secrets'))
  return {
    env: { ...env, VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: tokenFile, VAULT_EDGE_OUTPUT: output, [fileVariable]: input },
    output,
    app: spec.containers[0].command as string[],
  }
}

/** Runs an app container's `sh -c '. FILE && exec "$@"' app …` with FILE moved to `file`. */
async function sourceAsApp(shell: Shell, command: string[], file: string, root: string, names: string[]) {
  const [, flag, script, argv0] = command
  const dump = join(root, 'app-env.json')
  const app = writeEnvDumpApp(root)
  const result = await run(shell, [flag!, script!.replace(/\/vault\/secrets\/[a-z]+/, file), argv0!, NODE, app, dump, names.join(','), 'exit'], {})
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(readFileSync(dump, 'utf8')).env
}

describe.each<Shell>(SHELLS)('the init container under %s', (shell) => {
  it('writes the env file (0600, atomically) and the app container sources it: every value exactly as stored', async () => {
    const root = join(dir.path, `${shell}-ok`)
    const { file: tokenFile, token } = await writePodToken(join(root, 'token'), issuerUrl)
    const env = initEnv(root, tokenFile)
    const result = await run(shell, [FETCH], env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/wrote secret\/data\/myapp\/config to .*vault-secrets\/env \(HTTP 200\)/)
    expect(result.stdout + result.stderr).not.toContain(token)
    expect(result.stdout + result.stderr).not.toContain(DEMO_SECRET.password)

    const output = env.VAULT_EDGE_OUTPUT!
    expect(statSync(output).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(root, 'vault-secrets'))).toEqual(['env']) // no temporary file left
    expect(readFileSync(output, 'utf8')).toMatch(/^export USERNAME='demo-user'$/m)

    // The app container: `/bin/sh -c '. /vault/secrets/env && exec "$@"' app <command>`.
    expect(appContainer.command[2]).toContain('/vault/secrets/env')
    const seen = await sourceAsApp(shell, appContainer.command, output, root, ['USERNAME', 'PASSWORD', 'HOME'])
    expect(seen).toEqual({ USERNAME: DEMO_SECRET.username, PASSWORD: DEMO_SECRET.password, HOME: process.env.HOME ?? '/root' })
  })

  it('writes one raw value (the CSI one-file-per-object case): format=raw&key=password, bytes as stored', async () => {
    const root = join(dir.path, `${shell}-raw`)
    const { file: tokenFile } = await writePodToken(join(root, 'token'), issuerUrl)
    const output = join(root, 'secrets-store', 'db-password')
    const result = await run(shell, [FETCH], initEnv(root, tokenFile, { VAULT_EDGE_FORMAT: 'raw', VAULT_EDGE_QUERY: 'key=password', VAULT_EDGE_OUTPUT: output }))
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(output, 'utf8')).toBe(DEMO_SECRET.password)
  })

  it('fails the pod on a refused token: exit 1, the problem code on stderr, no token, no file', async () => {
    const root = join(dir.path, `${shell}-denied`)
    // A ServiceAccount no rule names: 403 from the broker's rules, before Vault.
    const { file: tokenFile, token } = await writePodToken(join(root, 'token'), issuerUrl, { namespace: 'other' })
    const env = initEnv(root, tokenFile)
    const result = await run(shell, [FETCH], env)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/fetching secret\/data\/myapp\/config failed \(curl exit 22, HTTP 403\)/)
    expect(JSON.parse(result.stderr.split('\n').find((line) => line.startsWith('{'))!)).toMatchObject({ status: 403, code: 'forbidden' })
    expect(result.stderr).not.toContain(token)
    expect(existsSync(env.VAULT_EDGE_OUTPUT!)).toBe(false)
    expect(readdirSync(join(root, 'vault-secrets'))).toEqual([])
  })

  it('refuses to start without its settings or its token, naming what is missing', async () => {
    const root = join(dir.path, `${shell}-settings`)
    const missingToken = await run(shell, [FETCH], initEnv(root, join(root, 'nothing-here')))
    expect(missingToken.code).toBe(1)
    expect(missingToken.stderr).toContain('no readable ServiceAccount token at')
    const { file: tokenFile } = await writePodToken(join(root, 'token'), issuerUrl)
    const noUrl = await run(shell, [FETCH], initEnv(root, tokenFile, { VAULT_EDGE_URL: '' }))
    expect(noUrl.stderr).toContain('VAULT_EDGE_URL is not set')
    const twoSources = await run(shell, [FETCH], initEnv(root, tokenFile, { VAULT_EDGE_BUNDLE_FILE: tokenFile }))
    expect(twoSources.stderr).toContain('set exactly one of')
    const badFormat = await run(shell, [FETCH], initEnv(root, tokenFile, { VAULT_EDGE_FORMAT: 'xml' }))
    expect(badFormat.stderr).toContain('format=xml: must be env, dotenv, json, yaml or raw')
  })
})

describe.each<Shell>(SHELLS)('the migrated seed scenarios under %s', (shell) => {
  it('Agent Injector: the annotation template, POSTed to /v1/render, writes the file Vault Agent wrote', async () => {
    const root = join(dir.path, `${shell}-agent`)
    const { file: tokenFile } = await writePodToken(join(root, 'token'), issuerUrl)
    const doc = findDocument(documents, 'k8s/migration/agent-injector/after.yaml', 'Deployment')
    const { env, output, app } = migrationInit(doc, root, tokenFile, 'VAULT_EDGE_TEMPLATE_FILE')
    const result = await run(shell, [FETCH], env)
    expect(result.code, result.stderr).toBe(0)
    // `{{- … -}}` trims the newlines around the actions, as consul-template does.
    expect(readFileSync(output, 'utf8')).toBe(`export DB_USER="demo-user"\nexport DB_PASSWORD="${DEMO_SECRET.password}"`)
    // The app command is the one it had under the injector. Its double quotes expand $HOME
    // inside the password, exactly as with Vault Agent: the reason to prefer format=env.
    const seen = await sourceAsApp(shell, app, output, root, ['DB_USER', 'DB_PASSWORD'])
    expect(seen).toEqual({ DB_USER: 'demo-user', DB_PASSWORD: DEMO_SECRET.password.replace('$HOME', process.env.HOME ?? '/root') })
  })
})

describe('the init container while the broker is not up yet', () => {
  let gate: Server | undefined
  afterAll(() => gate?.close())

  it('retries refused connections and gets the secret once the broker listens', async () => {
    const root = join(dir.path, 'late-broker')
    const { file: tokenFile } = await writePodToken(join(root, 'token'), issuerUrl)
    const port = await getFreePort()
    // Nothing listens on `port` for the first second; then a TCP relay to the broker does.
    const opening = new Promise<void>((resolve) =>
      setTimeout(() => {
        const target = new URL(broker.url)
        gate = createServer((socket) => {
          const upstream = connect(Number(target.port), target.hostname)
          socket.pipe(upstream).pipe(socket)
          socket.on('error', () => upstream.destroy())
          upstream.on('error', () => socket.destroy())
        })
        gate.listen(port, '127.0.0.1', () => resolve())
      }, 1000),
    )
    const env = initEnv(root, tokenFile, { VAULT_EDGE_URL: `http://127.0.0.1:${port}` })
    const result = await run('sh', [FETCH], env)
    await opening
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(env.VAULT_EDGE_OUTPUT!, 'utf8')).toContain("export USERNAME='demo-user'")
  })
})

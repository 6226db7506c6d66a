// The migrated scenarios that write files, run as their manifests declare them:
// - k8s/migration/agent-injector-files (the Agent Injector with `db` and `api-key`, perms and a
//   SIGHUP command): vault-edge-exec.sh in the app's container renders both templates (dynamic
//   PostgreSQL credentials and a KV value) into files with the injector's modes, starts the
//   app, and sends it SIGHUP with the new file when the KV value changes in OpenBao;
// - k8s/migration/csi (one file per SecretProviderClass object): the init container writes
//   /mnt/secrets-store/<objectName> with the driver's mode.
// Under dash and busybox ash, against the broker (Node entry), OpenBao and PostgreSQL.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { createOpenBaoClient } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { DEMO_SECRET, putKv2 } from '../support/seed-openbao.ts'
import { mountDatabaseEngine } from '../vault/support/database-engine.ts'
import { createJwtRole, targetOf, unique } from '../vault/support/vault-stack.ts'
import { envOf, findDocument, loadDocuments, mountedFile, podSpecOf } from './k8s-manifests.ts'
import { NODE, SCRIPTS, SHELLS, eventually, run, start, startDemoBroker, tempDir, writePodToken, type Running, type Shell } from './k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') })
const documents = loadDocuments()
const dir = tempDir('migration-files')
const running: Running[] = []
const stops: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()))
  for (const stop of stops.reverse()) await stop().catch(() => {})
  dir.cleanup()
})

/** Moves the manifest's absolute paths into the test's directory. */
const relocate = (text: string, root: string, prefixes: string[]) => prefixes.reduce((out, prefix) => out.replaceAll(prefix, join(root, prefix)), text)

describe('Agent Injector with two files and a SIGHUP command (k8s/migration/agent-injector-files)', () => {
  const deployment = findDocument(documents, 'k8s/migration/agent-injector-files/after.yaml', 'Deployment')
  const app = podSpecOf(deployment).containers[0]
  const TTL_SECONDS = 1
  let broker: ProcessBroker
  let engine: Awaited<ReturnType<typeof mountDatabaseEngine>>
  const serviceAccount = unique('injector-files')
  // This test's own paths for the templates' `database/creds/app` and `secret/data/myapp/api`:
  // other test files share this OpenBao.
  let credsPath: string
  const apiPaths = `secret/data/myapp/${serviceAccount}-*`

  beforeAll(async () => {
    engine = await mountDatabaseEngine(openbao, { ttl: '1m', maxTtl: '5m' })
    stops.push(() => engine.cleanUp())
    credsPath = `${engine.mount}/creds/app`
    await createJwtRole(targetOf(openbao), { role: serviceAccount, serviceAccount, policy: `path "${credsPath}" { capabilities = ["read"] }\npath "${apiPaths}" { capabilities = ["read"] }\n` })
    const config = demoBrokerConfig({
      issuerUrl,
      openbaoAddr: openbao.address,
      extra: { cache: { kvTtlSeconds: TTL_SECONDS, maxStaleSeconds: 60 } },
    })
    config.rules = [{ cluster: 'local', namespace: 'vault-tests', serviceAccount, role: serviceAccount, paths: [credsPath, apiPaths] }]
    broker = await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(config) })
    stops.push(() => broker.stop())
  })

  it.each<Shell>(SHELLS)('renders db (0400) and api-key (0440), starts the app, and sends it SIGHUP with the new api-key (%s)', async (shell) => {
    const root = join(dir.path, `injector-${shell}`)
    const apiPath = apiPaths.replace('*', shell)
    await putKv2(openbao, apiPath.replace('secret/data/', ''), { key: `api-key-1 ${shell}` })
    // The ConfigMap's files where the container mounts them, with this test's Vault paths.
    const env = envOf(app)
    const templatesDir = env.VAULT_EDGE_OUTPUTS_FILE!.slice(0, env.VAULT_EDGE_OUTPUTS_FILE!.lastIndexOf('/'))
    const outputs = mountedFile(documents, deployment, app, env.VAULT_EDGE_OUTPUTS_FILE!)!
    mkdirSync(join(root, templatesDir), { recursive: true })
    for (const line of outputs.split('\n').filter(Boolean)) {
      const template = line.split(/\s+/)[0]!.slice('template:'.length)
      const body = mountedFile(documents, deployment, app, template)!.replace('database/creds/app', credsPath).replace('secret/data/myapp/api', apiPath)
      writeFileSync(join(root, template), body)
    }
    writeFileSync(join(root, env.VAULT_EDGE_OUTPUTS_FILE!), relocate(outputs, root, [templatesDir, '/vault/secrets']))
    mkdirSync(join(root, 'vault', 'work'), { recursive: true })
    const token = await mintToken(issuerUrl, { namespace: 'vault-tests', serviceAccount, audiences: [BROKER_AUDIENCE], expirationSeconds: 600 })
    writeFileSync(join(root, 'token'), token)

    // The app: the manifest's command after the wrapper, with /app/server standing in for a
    // program that reads both files at start and on SIGHUP.
    const [shellBinary, wrapperPath, ...appCommand] = app.command as string[]
    expect([shellBinary, wrapperPath]).toEqual(['/bin/sh', '/opt/vault-edge/vault-edge-exec.sh'])
    const program = join(root, 'server.mjs')
    writeFileSync(
      program,
      `import { appendFileSync, readFileSync } from 'node:fs'
const args = process.argv.slice(2)
const file = (flag) => readFileSync(args[args.indexOf(flag) + 1], 'utf8')
const note = (event) => appendFileSync(${JSON.stringify(join(root, 'events.jsonl'))}, JSON.stringify({ event, pid: process.pid, db: file('--db-url-file'), apiKey: file('--api-key-file') }) + '\\n')
note('start')
process.on('SIGHUP', () => note('hup'))
process.on('SIGTERM', () => process.exit(0))
setInterval(() => {}, 1000)
`,
    )
    const argv = [NODE, program, ...appCommand.slice(1).map((word) => (word.startsWith('/vault/secrets/') ? join(root, word) : word))]
    const wrapper = start(shell, [join(SCRIPTS, 'vault-edge-exec.sh'), ...argv], {
      ...env,
      VAULT_EDGE_URL: broker.url,
      VAULT_EDGE_ALLOW_HTTP: '1',
      VAULT_EDGE_TOKEN_FILE: join(root, 'token'),
      VAULT_EDGE_OUTPUTS_FILE: join(root, env.VAULT_EDGE_OUTPUTS_FILE!),
      VAULT_EDGE_WORK_DIR: join(root, env.VAULT_EDGE_WORK_DIR!),
    })
    running.push(wrapper)
    const events = () => (existsSync(join(root, 'events.jsonl')) ? readFileSync(join(root, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [])
    const [started] = await eventually(() => (events().length > 0 ? events() : undefined), 20_000, 'the app to start')

    const db = /^postgresql:\/\/([^:]+):([^@]+)@postgres:5432\/wizard\n$/.exec(started.db)!
    expect(db, started.db).not.toBeNull()
    expect(await engine.database.loginAs(db[1]!, db[2]!)).toBe(db[1]) // real, working credentials
    expect(started.apiKey).toBe(`api-key-1 ${shell}`)
    const mode = (name: string) => (statSync(join(root, 'vault', 'secrets', name)).mode & 0o777).toString(8)
    expect([mode('db'), mode('api-key')]).toEqual(['400', '440'])

    await putKv2(openbao, apiPath.replace('secret/data/', ''), { key: `api-key-2 ${shell}` })
    const hup = await eventually(() => events().find((event) => event.event === 'hup'), 20_000, 'SIGHUP')
    expect(hup).toMatchObject({ pid: started.pid, apiKey: `api-key-2 ${shell}`, db: started.db })
    expect(wrapper.output().stderr).not.toContain(token)
    expect(wrapper.output().stderr).not.toContain(db[2]!)
    await wrapper.stop()
  })
})

describe('Secrets Store CSI, one file per object (k8s/migration/csi)', () => {
  let broker: ProcessBroker
  beforeAll(async () => {
    broker = await startDemoBroker(issuerUrl, openbao.address)
    stops.push(() => broker.stop())
  })

  it.each<Shell>(SHELLS)('the init container writes /mnt/secrets-store/<objectName> with mode 0644, the bytes as stored (%s)', async (shell) => {
    const root = join(dir.path, `csi-${shell}`)
    const deployment = findDocument(documents, 'k8s/migration/csi/after.yaml', 'Deployment')
    const init = podSpecOf(deployment).initContainers[0]
    expect(init.command).toEqual(['/bin/sh', '/opt/vault-edge/fetch-secrets.sh'])
    const env = envOf(init)
    const outputsFile = join(root, 'outputs')
    mkdirSync(root, { recursive: true })
    writeFileSync(outputsFile, relocate(mountedFile(documents, deployment, init, env.VAULT_EDGE_OUTPUTS_FILE!)!, root, ['/mnt/secrets-store']))
    const { file, token } = await writePodToken(join(root, 'token'), issuerUrl)
    const result = await run(shell, [join(SCRIPTS, 'fetch-secrets.sh')], { ...env, VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: file, VAULT_EDGE_OUTPUTS_FILE: outputsFile })
    expect(result.code, result.stderr).toBe(0)
    const store = join(root, 'mnt', 'secrets-store')
    for (const [name, value] of [['db-username', DEMO_SECRET.username], ['db-password', DEMO_SECRET.password]] as const) {
      expect(readFileSync(join(store, name), 'utf8'), name).toBe(value)
      expect((statSync(join(store, name)).mode & 0o777).toString(8), name).toBe('644')
    }
    expect(result.stderr).not.toContain(token)
  })
})

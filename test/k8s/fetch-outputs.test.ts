// k8s/scripts/fetch-secrets.sh with several outputs in one run (VAULT_EDGE_OUTPUTS), run for
// real under dash and busybox ash as root (as the tests run here): each file with its content,
// mode and owner as asked, all or nothing, one token read; http:// refused unless allowed; a
// broker serving HTTPS itself, verified with VAULT_EDGE_CACERT; and repeated runs with a state directory
// (what vault-edge-exec.sh does) that ask with If-None-Match and leave unchanged files alone.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DEMO_SECRET, putKv2 } from '../support/seed-openbao.ts'
import { demoBrokerConfig } from '../support/broker-config.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { fetchTrusting } from '../support/test-pki.ts'
import { SCRIPTS, SHELLS, run, startDemoBroker, tempDir, writePodToken, type Shell } from './k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
const FETCH = join(SCRIPTS, 'fetch-secrets.sh')
const API_KEY = "k-123 'quoted' $HOME `tick`"

let broker: ProcessBroker
const dir = tempDir('outputs')
beforeAll(async () => {
  broker = await startDemoBroker(issuerUrl, openbao.address)
  await putKv2(openbao, 'myapp/api-outputs', { key: API_KEY })
})
afterAll(async () => {
  await broker?.stop()
  dir.cleanup()
})

const fileState = (path: string) => {
  const stat = statSync(path)
  return { mode: (stat.mode & 0o777).toString(8).padStart(4, '0'), owner: `${stat.uid}:${stat.gid}`, content: readFileSync(path, 'utf8') }
}

async function setup(root: string, files: Record<string, string> = {}) {
  const { file: tokenFile, token } = await writePodToken(join(root, 'token'), issuerUrl)
  mkdirSync(join(root, 'config'), { recursive: true })
  for (const [name, body] of Object.entries(files)) writeFileSync(join(root, 'config', name), body)
  return { token, env: { VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: tokenFile } }
}

const DB_TEMPLATE = '{{- with secret "secret/data/myapp/config" -}}\npostgresql://{{ .Data.data.username }}@db:5432/app\n{{- end }}\n'
const API_TEMPLATE = '{{- with secret "secret/data/myapp/api-outputs" -}}{{ .Data.data.key }}{{- end -}}'

describe.each<Shell>(SHELLS)('fetch-secrets.sh with several outputs under %s', (shell) => {
  it('writes every file with its content, mode and owner, in one run with one token', async () => {
    const root = join(dir.path, `${shell}-many`)
    const { env, token } = await setup(root, { 'db.ctmpl': DB_TEMPLATE, 'api-key.ctmpl': API_TEMPLATE })
    const out = join(root, 'vault-secrets')
    const outputs = `# the Agent Injector's two files, then one CSI object and a JSON copy
template:${root}/config/db.ctmpl      ${out}/db       mode=0400
template:${root}/config/api-key.ctmpl ${out}/api-key  mode=0440 owner=0:1000
    \t
    # an indented comment
  secret/data/myapp/config  ${root}/secrets-store/db-password  format=raw key=password mode=0644 owner=1234:5678
secret/data/myapp/config  ${out}/config.json  format=json`
    const result = await run(shell, [FETCH], { ...env, VAULT_EDGE_OUTPUTS: outputs })
    expect(result.code, result.stderr).toBe(0)
    expect(fileState(join(out, 'db'))).toEqual({ mode: '0400', owner: '0:0', content: 'postgresql://demo-user@db:5432/app\n' })
    expect(fileState(join(out, 'api-key'))).toEqual({ mode: '0440', owner: '0:1000', content: API_KEY })
    expect(fileState(join(root, 'secrets-store', 'db-password'))).toEqual({ mode: '0644', owner: '1234:5678', content: DEMO_SECRET.password })
    expect(fileState(join(out, 'config.json')).mode).toBe('0600')
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual(DEMO_SECRET)
    // What `stat` says, as a user would check it.
    expect(spawnSync('stat', ['-c', '%a %u:%g', join(out, 'api-key')], { encoding: 'utf8' }).stdout.trim()).toBe('440 0:1000')
    expect(readdirSync(out).sort()).toEqual(['api-key', 'config.json', 'db']) // no temporary file left
    expect(result.stderr.match(/^vault-edge-fetch: wrote /gm)).toHaveLength(4)
    for (const secret of [token, DEMO_SECRET.password, API_KEY]) expect(result.stdout + result.stderr).not.toContain(secret)
  })

  it('writes none of the files when one output fails, and leaves the files already there alone', async () => {
    const root = join(dir.path, `${shell}-one-fails`)
    const { env } = await setup(root, { 'db.ctmpl': DB_TEMPLATE })
    const out = join(root, 'vault-secrets')
    mkdirSync(out, { recursive: true })
    writeFileSync(join(out, 'db'), 'the old file')
    const outputs = [
      `template:${root}/config/db.ctmpl ${out}/db mode=0400`,
      `secret/data/myapp/config ${out}/password format=raw key=password`,
      // Outside the rule's paths: 403 from the broker, after the two others were fetched.
      `secret/data/other/config ${out}/other format=json`,
    ].join('\n')
    const result = await run(shell, [FETCH], { ...env, VAULT_EDGE_OUTPUTS: outputs })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/fetching secret\/data\/other\/config failed \(curl exit 22, HTTP 403\)/)
    expect(readdirSync(out)).toEqual(['db']) // nothing new, no temporary file
    expect(readFileSync(join(out, 'db'), 'utf8')).toBe('the old file')
    expect(result.stderr).not.toContain('wrote')
  })

  it('refuses a list with a mistake before fetching anything, naming it', async () => {
    const root = join(dir.path, `${shell}-invalid`)
    const { env } = await setup(root)
    const out = join(root, 'vault-secrets')
    const good = `secret/data/myapp/config ${out}/env`
    for (const [bad, message] of [
      [`secret/data/myapp/config ${out}/x mode=644x`, 'mode=644x is not an octal file mode'],
      [`secret/data/myapp/config ${out}/x mode=0999`, 'mode=0999 is not an octal file mode'],
      [`secret/data/myapp/config ${out}/x owner=app:app`, 'owner=app:app is not numeric UID:GID'],
      [`secret/data/myapp/config ${out}/x owner=1000`, 'owner=1000 is not numeric UID:GID'],
      [`secret/data/myapp/config relative/x`, 'is not an absolute path'],
      [`secret/data/myapp/config ${out}/x format=xml`, 'format=xml: must be env, dotenv, json, yaml or raw'],
      [`secret/data/myapp/config ${out}/x colour=blue`, 'unknown option colour=blue'],
      [`secret/data/myapp/config ${out}/env`, `two outputs write ${out}/env`],
      [`template:${root}/missing.ctmpl ${out}/x`, `cannot read ${root}/missing.ctmpl`],
      [`secret/data/myapp/config`, 'an output needs a source and a destination'],
    ]) {
      const result = await run(shell, [FETCH], { ...env, VAULT_EDGE_OUTPUTS: `${good}\n${bad}` })
      expect(result.code, bad).toBe(1)
      expect(result.stderr, bad).toContain(message)
      expect(existsSync(out), bad).toBe(false)
    }
    const both = await run(shell, [FETCH], { ...env, VAULT_EDGE_OUTPUTS: good, VAULT_EDGE_SECRET_PATH: 'secret/data/myapp/config' })
    expect(both.stderr).toContain('set exactly one of')
  })

  it('refuses an http:// broker unless VAULT_EDGE_ALLOW_HTTP=1, and a URL of another scheme', async () => {
    const root = join(dir.path, `${shell}-http`)
    const { env } = await setup(root)
    const output = join(root, 'vault-secrets', 'env')
    const refused = await run(shell, [FETCH], { ...env, VAULT_EDGE_ALLOW_HTTP: '', VAULT_EDGE_SECRET_PATH: 'secret/data/myapp/config', VAULT_EDGE_OUTPUT: output })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('VAULT_EDGE_URL is http://')
    expect(refused.stderr).toContain('VAULT_EDGE_ALLOW_HTTP=1')
    expect(existsSync(output)).toBe(false)
    const ftp = await run(shell, [FETCH], { ...env, VAULT_EDGE_URL: 'ftp://127.0.0.1/', VAULT_EDGE_SECRET_PATH: 'secret/data/myapp/config', VAULT_EDGE_OUTPUT: output })
    expect(ftp.stderr).toContain('VAULT_EDGE_URL must start with https://')
    const allowed = await run(shell, [FETCH], { ...env, VAULT_EDGE_SECRET_PATH: 'secret/data/myapp/config', VAULT_EDGE_OUTPUT: output })
    expect(allowed.code, allowed.stderr).toBe(0)
  })

  it('asks again with If-None-Match in a state directory and rewrites only what changed', async () => {
    const root = join(dir.path, `${shell}-state`)
    const { env } = await setup(root, { 'api-key.ctmpl': API_TEMPLATE })
    const state = join(root, 'state')
    mkdirSync(state, { recursive: true })
    const path = `myapp/state-${shell}`
    await putKv2(openbao, path, { value: 'one' })
    const out = join(root, 'vault-secrets')
    const outputs = `secret/data/${path} ${out}/value format=raw key=value mode=0440\ntemplate:${root}/config/api-key.ctmpl ${out}/api-key`
    const again = () => run(shell, [FETCH], { ...env, VAULT_EDGE_OUTPUTS: outputs, VAULT_EDGE_STATE_DIR: state })

    const first = await again()
    expect(first.code, first.stderr).toBe(0)
    expect(readFileSync(join(state, 'changed'), 'utf8')).toBe(`${out}/value\n${out}/api-key\n`)
    expect(Number(readFileSync(join(state, 'refresh-after'), 'utf8'))).toBeGreaterThanOrEqual(1)
    const inode = statSync(join(out, 'value')).ino

    const unchanged = await again()
    expect(unchanged.code, unchanged.stderr).toBe(0)
    expect(readFileSync(join(state, 'changed'), 'utf8')).toBe('')
    expect(statSync(join(out, 'value')).ino).toBe(inode) // not rewritten
    expect(unchanged.stderr).not.toContain('wrote')

    await putKv2(openbao, path, { value: 'two' })
    // The broker's KV cache lives 1 s here (startDemoBroker).
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const changed = await again()
    expect(changed.code, changed.stderr).toBe(0)
    expect(readFileSync(join(state, 'changed'), 'utf8')).toBe(`${out}/value\n`)
    expect(fileState(join(out, 'value'))).toMatchObject({ mode: '0440', content: 'two' })
    expect(readdirSync(out).sort()).toEqual(['api-key', 'value'])
  })
})

describe('fetch-secrets.sh as a non-root user (setpriv, uid 65534)', () => {
  it('refuses owner= for another user before fetching anything, and accepts its own uid:gid', async () => {
    const root = join(dir.path, 'non-root')
    const { env } = await setup(root)
    // The private temp directory and the token, readable by that user; an output directory it may write.
    for (const path of [dir.path, root, join(root, 'token')]) chmodSync(path, 0o755)
    chmodSync(env.VAULT_EDGE_TOKEN_FILE, 0o644)
    const out = join(root, 'out')
    mkdirSync(out, { mode: 0o777 })
    chmodSync(out, 0o777)
    const runAs = (outputs: string) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', FETCH], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', ...env, VAULT_EDGE_OUTPUTS: outputs },
      })
    const refused = runAs(`secret/data/myapp/config ${out}/password format=raw key=password owner=0:0`)
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain('owner=0:0 for')
    expect(refused.stderr).toContain('needs root (this runs as uid 65534)')
    expect(readdirSync(out)).toEqual([])
    const own = runAs(`secret/data/myapp/config ${out}/password format=raw key=password mode=0400 owner=65534:65534`)
    expect(own.status, own.stderr).toBe(0)
    expect(fileState(join(out, 'password'))).toEqual({ mode: '0400', owner: '65534:65534', content: DEMO_SECRET.password })
  })
})

describe('fetch-secrets.sh against the broker on HTTPS (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  let httpsBroker: ProcessBroker
  let caFile: string
  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1, served by the broker itself, as cert-manager's is in k8s/broker.
    const tls = join(dir.path, 'tls')
    mkdirSync(tls, { recursive: true })
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=vault-edge test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')], { encoding: 'utf8' })
    expect(made.status, made.stderr).toBe(0)
    caFile = join(tls, 'cert.pem')
    const config = demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })
    httpsBroker = await startProcessBroker(
      'node',
      { BROKER_CONFIG: JSON.stringify(config), TLS_CERT_FILE: caFile, TLS_KEY_FILE: join(tls, 'key.pem') },
      { https: { fetch: fetchTrusting(caFile) } },
    )
  })
  afterAll(() => httpsBroker?.stop())

  it.each<Shell>(SHELLS)('verifies the broker with VAULT_EDGE_CACERT and fails without it (%s)', async (shell) => {
    const root = join(dir.path, `${shell}-tls`)
    const { env } = await setup(root)
    const url = `https://127.0.0.1:${new URL(httpsBroker.url).port}`
    const output = join(root, 'vault-secrets', 'password')
    const settings = { ...env, VAULT_EDGE_ALLOW_HTTP: '', VAULT_EDGE_URL: url, VAULT_EDGE_RETRIES: '0', VAULT_EDGE_OUTPUTS: `secret/data/myapp/config ${output} format=raw key=password` }
    const unknownCa = await run(shell, [FETCH], settings)
    expect(unknownCa.code).toBe(1)
    expect(unknownCa.stderr).toMatch(/curl exit 60/) // peer certificate cannot be authenticated
    expect(existsSync(output)).toBe(false)
    const missingCa = await run(shell, [FETCH], { ...settings, VAULT_EDGE_CACERT: join(root, 'no-such-ca.pem') })
    expect(missingCa.stderr).toContain('cannot read the CA file')
    const verified = await run(shell, [FETCH], { ...settings, VAULT_EDGE_CACERT: caFile })
    expect(verified.code, verified.stderr).toBe(0)
    expect(readFileSync(output, 'utf8')).toBe(DEMO_SECRET.password)
  })
})

// k8s/scripts/vault-edge-exec.sh run for real under dash and busybox ash: fetch, exec the
// app with the secrets in its environment; with a refresh interval, restart it when the
// secret's ETag changes (and only then).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { putKv2 } from '../support/seed-openbao.ts'
import type { ProcessBroker } from '../support/process-broker.ts'
import { envOf, findDocument, loadDocuments, podSpecOf } from './k8s-manifests.ts'
import { NODE, SCRIPTS, SHELLS, eventually, run, start, startDemoBroker, tempDir, writeEnvDumpApp, writePodToken, type Running, type Shell } from './k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
const EXEC = join(SCRIPTS, 'vault-edge-exec.sh')
const container = podSpecOf(findDocument(loadDocuments(), 'k8s/app/exec-wrapper.yaml', 'Deployment')).containers[0]

let broker: ProcessBroker
const dir = tempDir('exec')
const running: Running[] = []
beforeAll(async () => {
  broker = await startDemoBroker(issuerUrl, openbao.address)
})
afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()))
  await broker?.stop()
  dir.cleanup()
})

const lines = (file: string): { pid: number; env: Record<string, string | null> }[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : []
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The container's environment from k8s/app/exec-wrapper.yaml, pointed at the test's paths. */
async function execEnv(root: string, overrides: Record<string, string>) {
  const { file, token } = await writePodToken(join(root, 'token'), issuerUrl)
  const work = join(root, 'work')
  mkdirSync(work, { recursive: true })
  return {
    token,
    tokenFile: file,
    work,
    env: { ...envOf(container), VAULT_EDGE_URL: broker.url, VAULT_EDGE_ALLOW_HTTP: '1', VAULT_EDGE_TOKEN_FILE: file, VAULT_EDGE_WORK_DIR: work, ...overrides },
  }
}

describe.each<Shell>(SHELLS)('vault-edge-exec.sh under %s', (shell) => {
  it('without a refresh interval becomes the app (exec) with the secrets in its environment and leaves no file', async () => {
    const root = join(dir.path, `${shell}-once`)
    const { env, work, token } = await execEnv(root, { VAULT_EDGE_REFRESH_SECONDS: '0' })
    const app = writeEnvDumpApp(root)
    const dump = join(root, 'env.jsonl')
    const started = start(shell, [EXEC, NODE, app, dump, 'USERNAME,PASSWORD', 'exit'], env)
    const result = await started.exited
    expect(result.code, result.stderr).toBe(0)
    const [seen] = lines(dump)
    expect(seen!.env).toEqual({ USERNAME: 'demo-user', PASSWORD: "s3cr3t-'quoted' $HOME" })
    expect(seen!.pid).toBe(started.child.pid) // the shell was replaced, not a parent
    expect(readdirSync(work)).toEqual([])
    expect(result.stdout + result.stderr).not.toContain(token)
    expect(result.stdout + result.stderr).not.toContain('s3cr3t')
  })

  it('restarts the app with the new value when the secret changes, and not while it stays the same', async () => {
    const root = join(dir.path, `${shell}-refresh`)
    const path = `myapp/k8s-exec-${shell}`
    await putKv2(openbao, path, { value: 'first $HOME `x`' })
    const { env, token } = await execEnv(root, {
      VAULT_EDGE_SECRET_PATH: `secret/data/${path}`,
      VAULT_EDGE_REFRESH_SECONDS: '1',
      VAULT_EDGE_STOP_GRACE_SECONDS: '5',
    })
    const app = writeEnvDumpApp(root)
    const dump = join(root, 'env.jsonl')
    const wrapper = start(shell, [EXEC, NODE, app, dump, 'VALUE'], env)
    running.push(wrapper)

    const [first] = await eventually(() => (lines(dump).length === 1 ? lines(dump) : undefined), 15_000, 'the app to start')
    expect(first!.env.VALUE).toBe('first $HOME `x`')
    // Three refresh rounds with an unchanged secret (the broker answers 304): no restart.
    await new Promise((resolve) => setTimeout(resolve, 3200))
    expect(lines(dump)).toHaveLength(1)
    expect(alive(first!.pid)).toBe(true)

    await putKv2(openbao, path, { value: "second 'quoted'" })
    const [, second] = await eventually(() => (lines(dump).length === 2 ? lines(dump) : undefined), 15_000, 'the restart')
    expect(second!.env.VALUE).toBe("second 'quoted'")
    expect(second!.pid).not.toBe(first!.pid)
    expect(alive(first!.pid)).toBe(false)

    // SIGTERM to the script (what the kubelet sends) stops the app and the script.
    process.kill(wrapper.child.pid!, 'SIGTERM')
    const result = await wrapper.exited
    expect(result.code).toBe(0) // the app's own status: it exits 0 on SIGTERM
    expect(alive(second!.pid)).toBe(false)
    expect(result.stderr.match(/restarting/g)).toHaveLength(1)
    expect(result.stderr).toContain('stopping')
    for (const secret of [token, 'first $HOME', 'second']) expect(result.stdout + result.stderr).not.toContain(secret)
  })

  it('keeps the app running when a refresh fails', async () => {
    const root = join(dir.path, `${shell}-refresh-fails`)
    const { env, tokenFile } = await execEnv(root, { VAULT_EDGE_REFRESH_SECONDS: '1' })
    const app = writeEnvDumpApp(root)
    const dump = join(root, 'env.jsonl')
    const wrapper = start(shell, [EXEC, NODE, app, dump, 'USERNAME'], env)
    running.push(wrapper)
    const [first] = await eventually(() => (lines(dump).length === 1 ? lines(dump) : undefined), 15_000, 'the app to start')
    // The kubelet would never do this; a broken token stands in for any failing refresh.
    writeFileSync(tokenFile, 'not-a-token')
    await eventually(() => (wrapper.output().stderr.includes('refresh failed') ? true : undefined), 15_000, 'a failed refresh')
    expect(wrapper.output().stderr).toMatch(/HTTP 401/)
    expect(lines(dump)).toHaveLength(1)
    expect(alive(first!.pid)).toBe(true)
    await wrapper.stop()
  })

  it('exits with the status of an app that exits by itself', async () => {
    const root = join(dir.path, `${shell}-app-exits`)
    const { env } = await execEnv(root, { VAULT_EDGE_REFRESH_SECONDS: '60', EXIT_CODE: '3' })
    const app = writeEnvDumpApp(root)
    const started = Date.now()
    const result = await run(shell, [EXEC, NODE, app, join(root, 'env.jsonl'), 'USERNAME', 'exit'], env)
    expect(result.code, result.stderr).toBe(3)
    expect(result.stderr).toContain('exited with status 3')
    expect(Date.now() - started).toBeLessThan(10_000) // not after the 60 s refresh interval
  })

  it('refuses to start without a command, a broker URL or a secret path', async () => {
    const root = join(dir.path, `${shell}-usage`)
    const { env } = await execEnv(root, {})
    expect((await run(shell, [EXEC], env)).stderr).toContain('usage: vault-edge-exec.sh command')
    expect((await run(shell, [EXEC, 'true'], { ...env, VAULT_EDGE_URL: '' })).stderr).toContain('VAULT_EDGE_URL is not set')
    expect((await run(shell, [EXEC, 'true'], { ...env, VAULT_EDGE_SECRET_PATH: '' })).stderr).toContain('VAULT_EDGE_SECRET_PATH is not set')
    expect((await run(shell, [EXEC, 'true'], { ...env, VAULT_EDGE_REFRESH_SECONDS: '5m' })).stderr).toContain('whole number of seconds')
  })
})

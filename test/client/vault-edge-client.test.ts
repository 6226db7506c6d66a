// client/vault-edge-client.ts against the broker (Node entry) and OpenBao: getSecret, and watch
// with ETags — the first value, nothing while the secret stays the same (304s), the new value
// within TTL + one poll after a change in OpenBao — on Node (this process) and on Deno; the
// copy under k8s/examples is what `npm run build:client` builds. (The system's Node runs that
// copy in test/k8s/node-app.test.ts.)
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildClient, CLIENT_BUILD, CLIENT_SOURCE } from '../../client/build.ts'
import { getSecret, VaultEdgeError, watch } from '../../client/vault-edge-client.ts'
import { demoBrokerConfig } from '../support/broker-config.ts'
import { killOnExit } from '../support/child-process.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { DEMO_SECRET, putKv2 } from '../support/seed-openbao.ts'
import { REPO_ROOT } from '../k8s/k8s-manifests.ts'
import { eventually, tempDir, writePodToken } from '../k8s/k8s-support.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
const TTL_SECONDS = 1
const dir = tempDir('client')
let broker: ProcessBroker
let tokenFile: string
let token: string
beforeAll(async () => {
  const config = demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { cache: { kvTtlSeconds: TTL_SECONDS, maxStaleSeconds: 60 } } })
  broker = await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(config) })
  ;({ file: tokenFile, token } = await writePodToken(dir.path, issuerUrl))
})
afterAll(async () => {
  await broker?.stop()
  dir.cleanup()
})

const options = () => ({ url: broker.url, tokenFile, allowHttp: true })

describe('the client module', () => {
  it('ships under k8s/examples exactly as `npm run build:client` builds it', () => {
    expect(readFileSync(CLIENT_BUILD, 'utf8')).toBe(buildClient())
  })

  it('getSecret returns the map as stored, or a text format as rendered', async () => {
    expect(await getSecret('secret/data/myapp/config', options())).toEqual(DEMO_SECRET)
    expect(await getSecret('secret/data/myapp/config', { ...options(), format: 'raw', query: { key: 'password' } })).toBe(DEMO_SECRET.password)
  })

  it('says why it gets nothing: the status and problem code, never the token', async () => {
    const error = await getSecret('secret/data/other/config', options()).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(VaultEdgeError)
    expect(error).toMatchObject({ status: 403, code: 'forbidden' })
    expect((error as Error).message).not.toContain(token)
    await expect(getSecret('secret/data/myapp/config', { ...options(), allowHttp: false })).rejects.toThrow(/must be https:\/\//)
  })

  it('watch calls onChange with the first value, not while it stays the same, and with the new value after a change', async () => {
    const path = 'myapp/client-watch-node'
    await putKv2(openbao, path, { value: 'first' })
    const seen: { value: string; at: number }[] = []
    const errors: Error[] = []
    const watcher = watch(`secret/data/${path}`, (secret) => void seen.push({ value: secret.value, at: Date.now() }), { ...options(), onError: (error) => errors.push(error) })
    try {
      expect(await watcher.ready).toEqual({ value: 'first' })
      await new Promise((resolve) => setTimeout(resolve, 3 * (TTL_SECONDS + 1) * 1000)) // several polls, all 304
      expect(seen.map((entry) => entry.value)).toEqual(['first'])
      const changedAt = Date.now()
      await putKv2(openbao, path, { value: 'second' })
      const second = await eventually(() => seen.find((entry) => entry.value === 'second'), 10_000, 'the new value')
      // TTL, then one poll (TTL + up to a second of jitter), plus slack for a loaded machine.
      expect(second.at - changedAt).toBeLessThan((2 * TTL_SECONDS + 1) * 1000 + 3000)
      expect(errors).toEqual([])
    } finally {
      watcher.stop()
    }
  })
})

describe('the client module on Deno', () => {
  it('getSecret and watch work there too', async () => {
    const path = 'myapp/client-watch-deno'
    await putKv2(openbao, path, { value: 'first' })
    const program = join(dir.path, 'deno-watch.ts')
    writeFileSync(
      program,
      `import { getSecret, watch } from ${JSON.stringify(CLIENT_SOURCE)}
const options = { url: Deno.env.get('BROKER_URL'), tokenFile: Deno.env.get('TOKEN_FILE'), allowHttp: true }
console.log(JSON.stringify({ secret: await getSecret('secret/data/myapp/config', options) }))
const watcher = watch(${JSON.stringify(`secret/data/${path}`)}, (value) => {
  console.log(JSON.stringify({ value }))
  if (value.value === 'second') { watcher.stop() }
}, options)
await watcher.ready
console.log(JSON.stringify({ ready: true }))
`,
    )
    const deno = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'deno'), ['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', '--no-lock', program], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', BROKER_URL: broker.url, TOKEN_FILE: tokenFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const unregister = killOnExit(deno)
    let output = ''
    deno.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    deno.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => deno.once('close', (code) => resolve(code)))
    try {
      await eventually(() => (output.includes('"ready":true') ? true : undefined), 30_000, `Deno to read the secret: ${output}`)
      await putKv2(openbao, path, { value: 'second' })
      // The watcher stops itself on the new value; then nothing keeps Deno running.
      expect(await exited, output).toBe(0)
      const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
      expect(lines).toEqual([{ secret: DEMO_SECRET }, { value: { value: 'first' } }, { ready: true }, { value: { value: 'second' } }])
    } finally {
      unregister()
      deno.kill()
    }
  }, 60_000)
})

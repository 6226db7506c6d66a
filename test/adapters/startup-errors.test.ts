// Start-up errors of the Node and Deno entry points (SPEC §7): one line that names the field
// or flag at fault and what to do, exit status 1, never a stack trace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runUntilExit } from '../support/process-broker.ts'

const STACK_FRAME = /\n\s+at /
const good = {
  clusters: [{ name: 'local', issuer: 'https://oidc.example.com', audiences: ['vault-edge'] }],
  vault: { address: 'https://vault.example.com:8200' },
  rules: [{ namespace: 'demo', role: 'demo', paths: ['secret/data/demo/*'] }],
}

let dir: string
let busy: Server
let busyPort: number
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vault-edge-startup-'))
  busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  busyPort = (busy.address() as { port: number }).port
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await new Promise((resolve) => busy.close(resolve))
})

describe.each<'node' | 'deno'>(['node', 'deno'])('the %s entry point refuses to start', (runtime) => {
  it('with --config naming a file that does not exist: names the file and the fix', async () => {
    const { code, output } = await runUntilExit(runtime, {}, ['--config', '/nonexistent.json'])
    expect(code).toBe(1)
    expect(output.trim()).toBe('--config /nonexistent.json: no such file; give the path of a BROKER_CONFIG JSON file (relative to the directory you start in)')
  })

  it('with --config and no file after it', async () => {
    const { code, output } = await runUntilExit(runtime, {}, ['--config'])
    expect(code).toBe(1)
    expect(output.trim()).toBe('--config needs the path of a BROKER_CONFIG JSON file: --config FILE')
  })

  it('when its port is in use: names PORT and the fix', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: JSON.stringify(good), PORT: String(busyPort), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    expect(output).toContain(`vault-edge could not listen on 127.0.0.1:${busyPort}: the port is in use by another process; set PORT to a free port`)
    expect(output).not.toMatch(STACK_FRAME)
  })

  it('with a PORT that is not a number', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: JSON.stringify(good), PORT: '80a' })
    expect(code).toBe(1)
    expect(output.trim()).toBe('PORT: must be a TCP port number (0–65535), e.g. PORT=8787')
  })

  it('with a config file that has a missing field, a bad choice and a /v1 address: one line each', async () => {
    const file = join(dir, `${runtime}-bad.json`)
    const bad = {
      clusters: [{ name: 'local', audiences: ['vault-edge'] }],
      vault: { address: 'https://vault.example.com:8200/v1', authMethod: 'approle' },
      rules: good.rules,
    }
    writeFileSync(file, JSON.stringify(bad))
    const { code, output } = await runUntilExit(runtime, {}, ['--config', file])
    expect(code).toBe(1)
    expect(output).toContain('BROKER_CONFIG.clusters.0.issuer: required: add this field')
    expect(output).toContain('BROKER_CONFIG.vault.address: drop the trailing /v1')
    expect(output).toContain('BROKER_CONFIG.vault.authMethod: must be one of: "jwt", "kubernetes"')
    expect(output).not.toMatch(STACK_FRAME)
  })

  it('with a rule naming a cluster the config does not have', async () => {
    const rules = [{ ...good.rules[0], cluster: 'prod' }]
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: JSON.stringify({ ...good, rules }) })
    expect(code).toBe(1)
    expect(output).toContain('BROKER_CONFIG.rules.0.cluster: matches no cluster: use one of clusters[].name (local) or a glob such as *')
    expect(output).not.toMatch(STACK_FRAME)
  })

  it.each([
    ['vault.example.com:8200', 'BROKER_CONFIG.vault.address: must start with https://'],
    ['ftp://vault.example.com', 'BROKER_CONFIG.vault.address: must start with https://'],
  ])('with vault.address %s', async (address, line) => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: JSON.stringify({ ...good, vault: { address } }) })
    expect(code).toBe(1)
    expect(output).toContain(line)
    expect(output).not.toMatch(STACK_FRAME)
  })

  it('with no rules', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: JSON.stringify({ ...good, rules: [] }) })
    expect(code).toBe(1)
    expect(output).toContain('BROKER_CONFIG.rules: add at least one rule: with none, every request would be refused (403)')
    expect(output).not.toMatch(STACK_FRAME)
  })
})

// SPEC §7 entry points: `npm run start:node`, `npm run start:deno` and `npm run dev`, each
// reading BROKER_CONFIG, serving /healthz and the first secret end to end.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { runUntilExit, startProcessBroker, type BrokerRuntime, type ProcessBroker } from '../support/process-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const BROKER_CONFIG = JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr }))
const running: ProcessBroker[] = []
afterAll(() => Promise.all(running.map((broker) => broker.stop())))

describe.each<BrokerRuntime>(['node', 'deno', 'wrangler'])('the %s entry point', (runtime) => {
  it('serves /healthz and a rendered secret with BROKER_CONFIG from its environment', async () => {
    const broker = await startProcessBroker(runtime, { BROKER_CONFIG })
    running.push(broker)
    expect(await (await fetch(`${broker.url}/healthz`)).json()).toEqual({ status: 'ok' })

    const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
    const response = await fetch(`${broker.url}/v1/secrets/secret/data/myapp/config?format=json`, { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ username: 'demo-user' })
    expect(broker.output()).not.toContain(token)
  })
})

describe.each<'node' | 'deno'>(['node', 'deno'])('the %s entry point with a bad configuration', (runtime) => {
  it('exits 1 naming every bad field and no value', async () => {
    const config = JSON.stringify({ clusters: [{ name: 'x', issuer: 'https://i', audiences: [] }], vault: { address: 'hunter2-not-a-url' } })
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG: config })
    expect(code).toBe(1)
    expect(output).toContain('BROKER_CONFIG.clusters.0.audiences')
    expect(output).toContain('BROKER_CONFIG.vault.address')
    expect(output).not.toContain('hunter2')
    expect(output).not.toMatch(/\n\s+at /) // no stack trace
  })
})

// SPEC §5 leases on Cloudflare Workers: the broker runs in workerd, and its `scheduled` handler
// (the cron trigger of wrangler.toml, fired here once a second instead of once a minute)
// renews a served 6 s database lease; once nobody asks for it, it is left to expire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'
import { setUpDatabaseEngine, type DatabaseEngine } from './support/database-engine.ts'
import { brokerConfig, eventually, podToken, sharedStack } from './support/vault-stack.ts'

const LEASE_SECONDS = 6
const IDLE_SECONDS = 3
const { openbao } = sharedStack()
let engine: DatabaseEngine
let worker: WorkerdBroker
let cron: ReturnType<typeof setInterval> | undefined

beforeAll(async () => {
  engine = await setUpDatabaseEngine(openbao, { ttl: `${LEASE_SECONDS}s`, maxTtl: '2m' })
  const config = brokerConfig({
    openbaoAddr: openbao.address,
    vault: { leaseRenewal: { intervalSeconds: 1, idleSeconds: IDLE_SECONDS } },
    rules: [{ cluster: 'local', namespace: 'vault-tests', serviceAccount: engine.serviceAccount, role: engine.serviceAccount, paths: [engine.credsPath] }],
  })
  worker = await startBrokerInWorkerd({ BROKER_CONFIG: JSON.stringify(config) })
  let running = false
  cron = setInterval(() => {
    if (running) return
    running = true
    worker.scheduled().finally(() => (running = false))
  }, 1000)
})
afterAll(async () => {
  clearInterval(cron)
  await worker?.stop()
  await engine?.cleanUp()
})

describe('lease renewal on Workers (cron trigger)', () => {
  it('keeps a served lease alive across terms through scheduled(), then lets it expire', async () => {
    const token = await podToken({ serviceAccount: engine.serviceAccount })
    const started = Date.now()
    const seen = new Set<string>()
    let creds: { username: string; password: string } | undefined
    while (Date.now() - started < 2.5 * LEASE_SECONDS * 1000) {
      const response = await fetch(`${worker.url}/v1/secrets/${engine.credsPath}`, { headers: { Authorization: `Bearer ${token}` } })
      expect(response.status).toBe(200)
      creds = (await response.json()) as { username: string; password: string }
      seen.add(creds.username)
      expect(Date.parse(response.headers.get('x-vault-lease-expires')!)).toBeGreaterThan(Date.now())
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
    expect(seen.size).toBe(1)
    expect(await engine.database.loginAs(creds!.username, creds!.password)).toBe(creds!.username)

    const dropped = await eventually(async () => (await engine.database.validUntil(creds!.username)) === undefined, (IDLE_SECONDS + LEASE_SECONDS + 8) * 1000, 250)
    expect(dropped).toBe(true)
  })
})

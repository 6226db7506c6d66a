// SPEC §5 leases, with the Node/Deno timer: a dynamic secret with a 6 s lease stays the same
// and keeps logging in to PostgreSQL across several lease terms while pods keep asking for
// it, every response saying when it now expires; once nobody asks, it is left to expire and
// Vault drops the PostgreSQL role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLeaseRenewalTimer } from '../../src/vault/vault-sessions.ts'
import { setUpDatabaseEngine, type DatabaseEngine } from './support/database-engine.ts'
import { brokerConfig, eventually, podToken, sharedStack, startTestBroker, type TestBroker } from './support/vault-stack.ts'

const LEASE_SECONDS = 6
const IDLE_SECONDS = 3
const { openbao } = sharedStack()
let engine: DatabaseEngine
let broker: TestBroker
let stopTimer: () => void = () => {}

beforeAll(async () => {
  engine = await setUpDatabaseEngine(openbao, { ttl: `${LEASE_SECONDS}s`, maxTtl: '2m' })
  broker = await startTestBroker(
    brokerConfig({
      openbaoAddr: openbao.address,
      vault: { leaseRenewal: { intervalSeconds: 1, idleSeconds: IDLE_SECONDS } },
      rules: [{ cluster: 'local', namespace: 'vault-tests', serviceAccount: engine.serviceAccount, role: engine.serviceAccount, paths: [engine.credsPath] }],
    }),
  )
  stopTimer = startLeaseRenewalTimer(broker.services)
})
afterAll(async () => {
  stopTimer()
  await engine?.cleanUp()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('lease renewal on Node (timer)', () => {
  it('keeps a served 6 s lease alive across several terms, then lets it expire once idle', async () => {
    const token = await podToken({ serviceAccount: engine.serviceAccount })
    const started = Date.now()
    const seen = new Set<string>()
    const expiries: number[] = []
    let creds: { username: string; password: string } | undefined
    // Serve it once a second for three and a half lease terms.
    while (Date.now() - started < 3.5 * LEASE_SECONDS * 1000) {
      const response = await broker.call(`/v1/secrets/${engine.credsPath}`, token)
      expect(response.status).toBe(200)
      creds = (await response.json()) as { username: string; password: string }
      seen.add(creds.username)
      const expires = Date.parse(response.headers.get('x-vault-lease-expires')!)
      expect(expires).toBeGreaterThan(Date.now())
      expiries.push(expires)
      expect(await engine.database.loginAs(creds.username, creds.password)).toBe(creds.username)
      await sleep(1000)
    }
    expect(seen.size).toBe(1)
    // The header follows the renewals: the last response's expiry lies past the first lease's end.
    expect(expiries.at(-1)! - expiries[0]!).toBeGreaterThan(2 * LEASE_SECONDS * 1000)
    const validUntil = await engine.database.validUntil(creds!.username)
    expect(validUntil!.getTime()).toBeGreaterThan(Date.now())
    const renewals = broker.log.lines.filter((line) => line.includes('"msg":"lease renewal"'))
    expect(renewals.length).toBeGreaterThanOrEqual(3)

    // Nobody asks any more: not renewed after IDLE_SECONDS, gone at Vault (and PostgreSQL) once the lease ends.
    const idleSince = Date.now()
    const dropped = await eventually(async () => (await engine.database.validUntil(creds!.username)) === undefined, (IDLE_SECONDS + LEASE_SECONDS + 8) * 1000, 250)
    expect(dropped).toBe(true)
    expect(Date.now() - idleSince).toBeGreaterThan(IDLE_SECONDS * 1000)
    await expect(engine.database.loginAs(creds!.username, creds!.password)).rejects.toThrow()
    expect(broker.log.lines.some((line) => line.includes('lease idle'))).toBe(true)
  })
})

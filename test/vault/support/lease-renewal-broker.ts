// A database engine with short leases and a broker whose renewal timer runs every second: the
// set-up of the lease tests (renewal while served, 304 polls keeping a lease alive).
import { afterAll, beforeAll } from 'vitest'
import { startLeaseRenewalTimer } from '../../../src/vault/vault-sessions.ts'
import { setUpDatabaseEngine, type DatabaseEngine } from './database-engine.ts'
import { brokerConfig, sharedStack, startTestBroker, type TestBroker } from './vault-stack.ts'

/** Registers beforeAll/afterAll; the returned object holds the engine and broker once they run. */
export function useLeaseRenewalBroker(options: { leaseSeconds: number; idleSeconds: number }): { engine: DatabaseEngine; broker: TestBroker } {
  const { openbao } = sharedStack()
  const started = {} as { engine: DatabaseEngine; broker: TestBroker }
  let stopTimer: () => void = () => {}
  beforeAll(async () => {
    started.engine = await setUpDatabaseEngine(openbao, { ttl: `${options.leaseSeconds}s`, maxTtl: '2m' })
    const { engine } = started
    started.broker = await startTestBroker(
      brokerConfig({
        openbaoAddr: openbao.address,
        vault: { leaseRenewal: { intervalSeconds: 1, idleSeconds: options.idleSeconds } },
        rules: [{ cluster: 'local', namespace: 'vault-tests', serviceAccount: engine.serviceAccount, role: engine.serviceAccount, paths: [engine.credsPath] }],
      }),
    )
    stopTimer = startLeaseRenewalTimer(started.broker.services)
  })
  afterAll(async () => {
    stopTimer()
    await started.engine?.cleanUp()
  })
  return started
}

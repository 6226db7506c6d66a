// SPEC §1 and the standards' security invariants, tested rather than promised: the broker
// holds no privileged Vault token of its own, so every read is made with a token Vault issued
// for the pod that asked, and Vault's policies stay the final authority.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfigError, parseConfig } from '../src/config.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from './support/broker-config.ts'
import { mintToken } from './support/mint.ts'
import { createOpenBaoClient } from './support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from './support/process-broker.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken'), auditLogPath: inject('openbaoAuditLog') })
let broker: ProcessBroker

beforeAll(async () => {
  // A privileged token lying around in the broker's environment, as on a careless host:
  // the broker must never pick it up.
  broker = await startProcessBroker('node', {
    BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })),
    VAULT_TOKEN: openbao.rootToken,
    BAO_TOKEN: openbao.rootToken,
    VAULT_ADDR: openbao.address,
  })
})
afterAll(() => broker?.stop())

const read = async (serviceAccount: string, pod: string) => {
  const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount, pod, audiences: [BROKER_AUDIENCE] })
  return fetch(`${broker.url}/v1/secrets/secret/data/myapp/config`, { headers: { Authorization: `Bearer ${token}` } })
}

describe('the broker holds no privileged Vault token', () => {
  it('has no place in its config for one', () => {
    const config = demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })
    const withToken = { ...config, vault: { ...config.vault, token: 'hvs.root' } }
    expect(() => parseConfig(JSON.stringify(withToken))).toThrow(ConfigError)
    try {
      parseConfig(JSON.stringify(withToken))
    } catch (error) {
      expect((error as ConfigError).issues).toEqual(['BROKER_CONFIG.vault: unknown field token'])
    }
  })

  it('ignores VAULT_TOKEN in its environment: a pod Vault does not log in gets 403', async () => {
    const response = await read('intruder', `intruder-${randomUUID()}`)
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'vault_denied' })
  })

  it("reads with the token Vault issued for the pod's ServiceAccount, never a root token", async () => {
    const mark = await openbao.auditMark()
    const pod = `myapp-${randomUUID()}`
    expect((await read('myapp', pod)).status).toBe(200)
    // This pod's requests only (the seeded role puts pod_name in the token's metadata): other
    // test files use the root token on the same OpenBao at the same time.
    const mine = await openbao.auditEntries({ since: mark, metadata: { pod_name: pod } })
    expect(mine.map((entry) => entry.request.path).sort()).toEqual(['auth/jwt/login', 'secret/data/myapp/config'])
    const reads = mine.filter((entry) => entry.request.path === 'secret/data/myapp/config')
    expect(reads.length).toBeGreaterThan(0)
    for (const entry of reads) {
      expect(entry.auth?.policies).not.toContain('root')
      expect(entry.auth?.policies).toContain('myapp-read')
      expect(entry.auth?.display_name).toBe('jwt-system:serviceaccount:demo:myapp')
    }
  })
})

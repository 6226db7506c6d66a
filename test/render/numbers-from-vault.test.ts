// Numbers keep the spelling Vault sent (SPEC §6, docs/rendering.md "Numbers"): OpenBao answers
// -0 for a stored -0, and JSON.parse alone would print it as 0 in every format.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
let broker: Broker
let token: string

beforeAll(async () => {
  const written = await fetch(`${openbao.address}/v1/secret/data/myapp/numbers`, {
    method: 'POST',
    headers: { 'X-Vault-Token': openbao.rootToken, 'Content-Type': 'application/json' },
    body: '{"data": {"zero": -0, "ratio": 2.5E-7, "port": 5432, "big": 12345678901234567890}}',
  })
  expect(written.status).toBe(200)
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })) }, { fetch: globalThis.fetch, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

const read = async (format: string) => {
  const response = await broker.app.request(`/v1/secrets/secret/data/myapp/numbers?format=${format}`, { headers: { Authorization: `Bearer ${token}` } })
  expect(response.status).toBe(200)
  return response.text()
}

describe('numbers from Vault', () => {
  it('come out as Vault spelled them in json, yaml, env and dotenv, from Vault and from the cache', async () => {
    for (let round = 0; round < 2; round++) {
      // What OpenBao itself answers: -0 kept, 2.5E-7 and the big integer as Go's float64 prints them.
      expect(await read('json')).toBe('{"big":12345678901234567000,"port":5432,"ratio":2.5e-7,"zero":-0}\n')
      expect(await read('yaml')).toBe('big: 12345678901234567000\nport: 5432\nratio: 2.5e-7\nzero: -0\n')
      expect(await read('env')).toContain("export ZERO='-0'\n")
      expect(await read('dotenv')).toContain('ZERO="-0"\n')
    }
  })
})

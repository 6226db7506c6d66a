// limits.reads: requests per ServiceAccount (all its pods together), off unless configured.
import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { createBroker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { parseConfig } from '../../src/config.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
const token = (serviceAccount: string) =>
  mintToken(issuerUrl, { namespace: 'demo', serviceAccount, pod: `${serviceAccount}-${randomUUID().slice(0, 8)}`, audiences: [BROKER_AUDIENCE] })

describe('reads per identity', () => {
  it('is off by default', () => {
    expect(parseConfig(JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr }))).limits).toEqual({ failedAuth: { perAddress: 100, windowSeconds: 60 } })
  })

  it('answers 429 with Retry-After past the limit, counting every pod of the ServiceAccount, and leaves others alone', async () => {
    const config = demoBrokerConfig({ issuerUrl, openbaoAddr, extra: { limits: { reads: { perIdentity: 3, windowSeconds: 60 } } } })
    const { app } = await createBroker({ BROKER_CONFIG: JSON.stringify(config) }, { fetch: globalThis.fetch, log: createMemoryLogger() })
    const read = async (bearer: string) => app.request('/v1/secrets/secret/data/myapp/config', { headers: { Authorization: `Bearer ${bearer}` } })
    const pods = await Promise.all([token('myapp'), token('myapp'), token('myapp')])
    for (const pod of pods) expect((await read(pod)).status).toBe(200)
    const refused = await read(pods[0]!)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringMatching(/service account/) })
    // Another ServiceAccount has its own count (its Vault role does not exist: 403, not 429).
    expect((await read(await token('other'))).status).toBe(403)
  })
})

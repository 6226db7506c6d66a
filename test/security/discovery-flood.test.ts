// Issue 10: a flood of forged tokens against a cluster whose keys are not cached yet made the
// broker send one discovery request per token (357 tokens, 357 requests to a hanging issuer).
// Now: one request in flight per issuer, every other caller waits for it, and the cooldown
// holds while nothing is cached. Counted at the issuer, on Node (in process) and in workerd,
// where jose shares no pending fetch between requests.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBroker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { createLabSigner, projectedClaims, type LabSigner } from '../identity/token-lab.ts'
import { startCountingIssuer, type CountingIssuer } from '../support/counting-issuer.ts'
import { startBrokerInWorkerd } from '../support/workerd-broker.ts'

const TOKENS = 200
let known: LabSigner
let forger: LabSigner
let issuer: CountingIssuer | undefined

beforeAll(async () => {
  ;[known, forger] = await Promise.all([createLabSigner('RS256'), createLabSigner('RS256')])
})
afterEach(() => issuer?.stop())

const config = (issuerUrl: string) =>
  JSON.stringify({
    clusters: [{ name: 'cold', issuer: issuerUrl, audiences: ['vault-edge'] }],
    vault: { address: 'http://127.0.0.1:9' },
    rules: [{ cluster: 'cold', role: 'app', paths: ['secret/data/*'] }],
  })

/** Signed by a key the issuer never published, kid of a key it does: the broker must ask for keys. */
const forgedTokens = (issuerUrl: string) =>
  Promise.all(Array.from({ length: TOKENS }, () => forger.sign({ alg: 'RS256', kid: known.kid }, projectedClaims({ issuer: issuerUrl }))))

async function flood(send: (token: string) => Promise<Response>, tokens: string[]): Promise<number[]> {
  return Promise.all(tokens.map(async (token) => (await send(token)).status))
}

describe('forged tokens against a cold cluster', () => {
  for (const runtime of ['node', 'workerd'] as const) {
    describe(`on ${runtime}`, () => {
      async function brokerFor(issuerUrl: string): Promise<{ send: (token: string) => Promise<Response>; stop: () => Promise<void> }> {
        if (runtime === 'node') {
          const { app } = await createBroker({ BROKER_CONFIG: config(issuerUrl) }, { fetch: globalThis.fetch, log: createMemoryLogger() })
          return { send: async (token) => app.request('/v1/secrets/secret/data/app', { headers: { Authorization: `Bearer ${token}` } }), stop: async () => {} }
        }
        const worker = await startBrokerInWorkerd({ BROKER_CONFIG: config(issuerUrl) })
        return {
          send: (token) => fetch(`${worker.url}/v1/secrets/secret/data/app`, { headers: { Authorization: `Bearer ${token}` } }),
          stop: () => worker.stop(),
        }
      }

      it(`sends ${TOKENS} concurrent forged tokens, and one discovery request, to an issuer that hangs`, async () => {
        issuer = await startCountingIssuer({ keys: [known.jwk] })
        issuer.setBehaviour('hang')
        const broker = await brokerFor(issuer.url)
        try {
          const statuses = await flood(broker.send, await forgedTokens(issuer.url))
          expect(new Set(statuses)).toEqual(new Set([401]))
          expect(issuer.counts()).toMatchObject({ discovery: 1, maxDiscoveryInFlight: 1 })
          // Nothing cached and the attempt failed: the cooldown holds for the next flood too. (In
          // workerd every request comes from CF-Connecting-IP 127.0.0.1: the failed-authentication
          // limit may answer 429 first.)
          for (const status of await flood(broker.send, await forgedTokens(issuer.url))) expect([401, 429]).toContain(status)
          expect(issuer.counts()).toMatchObject({ discovery: 1, jwks: 0 })
        } finally {
          await broker.stop()
        }
      })

      it(`sends ${TOKENS} concurrent forged tokens, one discovery and one JWKS request, to an issuer that answers slowly`, async () => {
        issuer = await startCountingIssuer({ keys: [known.jwk] })
        issuer.setBehaviour(1000)
        const broker = await brokerFor(issuer.url)
        try {
          const statuses = await flood(broker.send, await forgedTokens(issuer.url))
          expect(new Set(statuses)).toEqual(new Set([401]))
          expect(issuer.counts()).toEqual({ discovery: 1, jwks: 1, maxDiscoveryInFlight: 1 })
          // A token the issuer's key did sign is served by the same cold-started keys (here: a 403/5xx
          // from the unreachable Vault, not a 401).
          const genuine = await known.sign({ alg: 'RS256', kid: known.kid }, projectedClaims({ issuer: issuer.url }))
          expect((await broker.send(genuine)).status).not.toBe(401)
        } finally {
          await broker.stop()
        }
      })
    })
  }
})

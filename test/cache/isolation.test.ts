// SPEC §5 scope and confidentiality, with the broker running as a Worker in workerd (and a Node
// process beside it) on one Redis through the Upstash protocol, against the real OpenBao:
// - an entry is only ever served to the identity it was read for: B asking for a path A has
//   cached gets Vault's 403, never A's data;
// - afterwards, nothing in Redis (keys, values, or what went over the wire) shows a secret, a
//   token, a path, a namespace or a ServiceAccount name, in clear text, base64 or hex.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createSealer } from '../../src/cache/seal.ts'
import { decodeJwt, mintToken, recreateServiceAccount } from '../support/mint.ts'
import { createOpenBaoClient } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { startBrokerInWorkerd, type WorkerdBroker } from '../support/workerd-broker.ts'
import { AUDIENCE, cacheBrokerConfig, getSecret, grantServiceAccount, newEncryptionKey, putKv2, roleOf, startCacheRedis, type CacheRedis } from './support/cache-stack.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken'), auditLogPath: inject('openbaoAuditLog') })
const NS = 'cache-isolation'
const A = 'alpha-reader'
const B = 'beta-reader'
const A_PATH = `secret/data/${NS}/${A}/config`
const B_PATH = `secret/data/${NS}/${B}/config`
const A_VALUE = `alpha-value-${randomBytes(8).toString('hex')}`
const B_VALUE = `beta-value-${randomBytes(8).toString('hex')}`
const ENCRYPTION_KEY = newEncryptionKey()

let redis: CacheRedis
let worker: WorkerdBroker
let node: ProcessBroker
const podTokens: string[] = []
const pod = async (serviceAccount: string, podName: string) => {
  const token = await mintToken(issuerUrl, { namespace: NS, serviceAccount, audiences: [AUDIENCE], pod: podName, expirationSeconds: 3600 })
  podTokens.push(token)
  return token
}

beforeAll(async () => {
  // A may read its own subtree, B its own: the broker's rules let both ask for either (Vault decides).
  await grantServiceAccount(openbao, { namespace: NS, serviceAccount: A, paths: [`secret/data/${NS}/${A}/*`] })
  await grantServiceAccount(openbao, { namespace: NS, serviceAccount: B, paths: [`secret/data/${NS}/${B}/*`] })
  await putKv2(openbao, `${NS}/${A}/config`, { password: A_VALUE })
  await putKv2(openbao, `${NS}/${B}/config`, { password: B_VALUE })
  redis = await startCacheRedis()
  const env = {
    BROKER_CONFIG: JSON.stringify(cacheBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, namespace: NS })),
    UPSTASH_REDIS_REST_URL: redis.shim.url,
    UPSTASH_REDIS_REST_TOKEN: redis.shim.token,
    CACHE_ENCRYPTION_KEY: ENCRYPTION_KEY,
  }
  ;[worker, node] = await Promise.all([startBrokerInWorkerd(env), startProcessBroker('node', env)])
})
afterAll(async () => {
  await Promise.all([worker?.stop(), node?.stop()])
  await redis?.stop()
})

describe('an entry is served only to the identity it was read for', () => {
  it('serves A its secret, the second time from the cache', async () => {
    const first = await getSecret(worker.url, A_PATH, await pod(A, `${A}-1`))
    expect([first.status, first.headers.get('x-cache')]).toEqual([200, 'miss'])
    expect(JSON.parse(first.body)).toEqual({ password: A_VALUE })
    const second = await getSecret(worker.url, A_PATH, await pod(A, `${A}-1`))
    expect([second.status, second.headers.get('x-cache')]).toEqual([200, 'hit'])
  })

  it("answers B's request for A's cached path with Vault's 403, on the Worker and on a Node process sharing the Redis", async () => {
    const mark = await openbao.auditMark()
    for (const url of [worker.url, node.url]) {
      const answer = await getSecret(url, A_PATH, await pod(B, `${B}-1`))
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.body)).toMatchObject({ status: 403, code: 'vault_denied' })
      expect(answer.body).not.toContain(A_VALUE)
      expect(answer.headers.get('x-cache')).toBeNull()
    }
    // Vault was asked each time, with B's own token, and refused it. (The Node process found B's
    // token cached by the Worker, so it also made the one re-login a 403 on a cached token earns.)
    const denied = await openbao.auditEntries({ path: A_PATH, since: mark, error: true })
    expect(denied.length).toBeGreaterThanOrEqual(2)
    expect(denied.every((entry) => entry.auth?.metadata?.service_account_name === B)).toBe(true)
  })

  it('serves B its own secret, and A still its own', async () => {
    const b = await getSecret(node.url, B_PATH, await pod(B, `${B}-2`))
    expect(JSON.parse(b.body)).toEqual({ password: B_VALUE })
    const a = await getSecret(node.url, A_PATH, await pod(A, `${A}-2`))
    expect([a.headers.get('x-cache'), JSON.parse(a.body)]).toEqual(['hit', { password: A_VALUE }])
  })

  it("shares A's entry among A's pods, across broker processes", async () => {
    const answer = await getSecret(node.url, A_PATH, await pod(A, `${A}-3`))
    expect([answer.status, answer.headers.get('x-cache')]).toEqual([200, 'hit'])
  })

  it('does not hand A’s entry to a ServiceAccount recreated under the same name (new uid)', async () => {
    await recreateServiceAccount(issuerUrl, NS, A)
    const mark = await openbao.auditMark()
    const answer = await getSecret(worker.url, A_PATH, await pod(A, `${A}-4`))
    expect([answer.status, answer.headers.get('x-cache')]).toEqual([200, 'miss'])
    expect(await openbao.countRequests({ path: 'auth/jwt/login', since: mark })).toBe(1)
  })
})

/** Every form a needle could take in Redis: as is, base64 and base64url at each alignment, hex. */
function encodingsOf(needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8')
  const forms = [needle, bytes.toString('hex')]
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64')
    // Drop the characters that depend on the neighbouring bytes.
    const stable = encoded.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + bytes.length) * 4) / 3))
    forms.push(stable, stable.replaceAll('+', '-').replaceAll('/', '_'))
  }
  return forms.filter((form) => form.length >= 4)
}

/** The text itself, and its bytes decoded from base64 when it is base64 (a sealed value is). */
function readingsOf(text: string): string[] {
  const readings = [text]
  if (/^[A-Za-z0-9+/]+=*$/.test(text)) readings.push(Buffer.from(text, 'base64').toString('latin1'))
  return readings
}

describe('what Redis holds after the run', () => {
  it('shows no secret, token, path, namespace or ServiceAccount name, in clear, base64 or hex', async () => {
    const all = await redis.entries()
    const entries = all.filter((entry) => entry.type === 'string')
    const sealer = await createSealer(ENCRYPTION_KEY)
    const plaintexts = await Promise.all(entries.map(async ({ key, value }) => (await sealer.open(key, value)) ?? ''))

    // The scan covers the real thing: every entry opens with the key, and among them are the
    // Vault tokens of A and B, both secrets, and the cluster's JWKS.
    expect(plaintexts.every((text) => text !== '')).toBe(true)
    const vaultTokens = plaintexts.flatMap((text) => {
      const parsed = JSON.parse(text) as { token?: unknown; accessor?: unknown }
      return typeof parsed.token === 'string' ? [parsed.token, String(parsed.accessor)] : []
    })
    expect(vaultTokens.length).toBeGreaterThanOrEqual(4)
    expect(plaintexts.some((text) => text.includes(A_VALUE))).toBe(true)
    expect(plaintexts.some((text) => text.includes(B_VALUE))).toBe(true)
    expect(plaintexts.some((text) => text.includes('"kty"'))).toBe(true)

    const jwks = (await (await fetch(`${new URL(issuerUrl).origin}/openid/v1/jwks`)).json()) as { keys: { kid: string; n: string }[] }
    const claims = podTokens.map((token) => decodeJwt(token).payload['kubernetes.io'] as { serviceaccount: { uid: string }; pod: { name: string; uid: string } })
    const needles = [
      A_VALUE, B_VALUE,
      ...vaultTokens,
      ...podTokens.flatMap((token) => [token, ...token.split('.').map((part) => part.slice(0, 40))]),
      A_PATH, B_PATH, `${NS}/${A}`, `${NS}/${B}`, NS, A, B, roleOf(NS, A), roleOf(NS, B),
      ...claims.flatMap((claim) => [claim.serviceaccount.uid, claim.pod.name, claim.pod.uid]),
      issuerUrl.replace(/^https?:\/\//, ''), ...jwks.keys.flatMap((key) => [key.kid, key.n.slice(0, 40)]),
    ]
    const forms = [...new Set(needles)].flatMap((needle) => encodingsOf(needle).map((form) => ({ needle, form })))

    // The detector itself sees a leak in any of those forms.
    const planted = ['x', 'xy', 'xyz'].flatMap((pad) => [Buffer.from(pad + A_VALUE).toString('base64'), Buffer.from(pad + A_VALUE).toString('hex')])
    for (const leak of planted) expect(forms.some(({ form }) => readingsOf(leak).some((text) => text.includes(form)))).toBe(true)

    const wire = redis.shim.commandLog().flat()
    const haystacks = [...all.flatMap(({ key, value }) => [key, value]), ...wire].flatMap(readingsOf)
    const found = forms.filter(({ form }) => haystacks.some((text) => text.includes(form)))
    expect(found.map(({ needle, form }) => `${needle} as ${form}`)).toEqual([])

    // Keys are HMACs, values sealed (sets hold only names of other entries), and every entry expires.
    for (const { key, type, value, ttlSeconds } of all) {
      expect(key).toMatch(/^[0-9a-f]{64}$/)
      if (type === 'set') expect(value).toMatch(/^[0-9a-f]{64}(\n[0-9a-f]{64})*$/)
      else expect(Buffer.from(value, 'base64').toString('base64')).toBe(value)
      expect(ttlSeconds).toBeGreaterThan(0)
    }
  })
})

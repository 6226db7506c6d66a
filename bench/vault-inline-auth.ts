// Should reads that create no lease (KV) use OpenBao's inline auth (one request that logs in
// and reads, no token stored: https://openbao.org/docs/rfcs/inline-auth) instead of a login
// whose token the broker caches? Measured side by side against a real OpenBao dev server and
// the jwt auth method, through the broker's own Vault client:
//
//   login+read   a login, then the read with its token (what a cold cache costs)
//   cached token the read with a token from an earlier login (what the broker does when warm)
//   inline auth  the read carrying X-Vault-Inline-Auth-* headers (JWT verified on every read)
//
// Run: `npx node --experimental-strip-types --no-warnings bench/vault-inline-auth.ts` (needs
// `npm run setup` for bao). Options: ITERATIONS (default 400), CONCURRENCY (default 16).
import { startClusterIssuer } from '../test/support/cluster-issuer.ts'
import { startOpenBao } from '../test/support/openbao.ts'
import { DEMO_AUDIENCE, DEMO_ROLE_NAME, seedDemo } from '../test/support/seed-openbao.ts'
import { loginWithServiceAccountToken } from '../src/vault/login.ts'
import { readSecret } from '../src/vault/read-secret.ts'
import { createVaultClient, type VaultClient } from '../src/vault/vault-client.ts'
import type { VaultSecret } from '../src/vault/vault-types.ts'

const ITERATIONS = Number(process.env.ITERATIONS ?? 400)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
const PATH = 'secret/data/myapp/config'

/** `X-Vault-Inline-Auth-Parameter-*`: base64url (no padding) of {"key": name, "value": value}. */
const inlineParameter = (key: string, value: string) => Buffer.from(JSON.stringify({ key, value })).toString('base64url')

function inlineAuthHeaders(mount: string, role: string, jwt: string): Record<string, string> {
  return {
    'X-Vault-Inline-Auth-Path': `auth/${mount}/login`,
    'X-Vault-Inline-Auth-Parameter-role': inlineParameter('role', role),
    'X-Vault-Inline-Auth-Parameter-jwt': inlineParameter('jwt', jwt),
  }
}

interface Result {
  name: string
  sequentialMedianMs: number
  sequentialP95Ms: number
  concurrentPerSecond: number
}

/** Alternating rounds, so load from elsewhere on the machine hits all three alike. */
const ROUNDS = 5

async function measureAll(cases: [name: string, once: () => Promise<unknown>][]): Promise<Result[]> {
  const latencies = cases.map(() => [] as number[])
  const busySeconds = cases.map(() => 0)
  for (const [, once] of cases) for (let i = 0; i < 20; i++) await once() // warm-up
  const perRound = Math.ceil(ITERATIONS / ROUNDS)
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, [, once]] of cases.entries()) {
      for (let i = 0; i < perRound; i++) {
        const started = performance.now()
        await once()
        latencies[index]!.push(performance.now() - started)
      }
      let left = perRound
      const started = performance.now()
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (left-- > 0) await once()
        }),
      )
      busySeconds[index]! += (performance.now() - started) / 1000
    }
  }
  return cases.map(([name], index) => {
    const sorted = latencies[index]!.sort((a, b) => a - b)
    return {
      name,
      sequentialMedianMs: sorted[Math.floor(sorted.length / 2)]!,
      sequentialP95Ms: sorted[Math.floor(sorted.length * 0.95)]!,
      concurrentPerSecond: (perRound * ROUNDS) / busySeconds[index]!,
    }
  })
}

const issuer = await startClusterIssuer({ algorithm: 'RS256' })
const bao = await startOpenBao()
try {
  await seedDemo(bao, { issuerUrl: issuer.issuer, audience: DEMO_AUDIENCE })
  const vault: VaultClient = createVaultClient({ address: bao.address, namespace: null, timeoutMs: 5000, fetch })
  const jwt = await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: [DEMO_AUDIENCE], expirationSeconds: 3600 })
  const login = () => loginWithServiceAccountToken(vault, { mount: 'jwt', role: DEMO_ROLE_NAME, jwt, now: Date.now })
  const cached = await login()
  const inline = inlineAuthHeaders('jwt', DEMO_ROLE_NAME, jwt)

  // The three must read the same thing.
  const check = await vault<VaultSecret>('GET', PATH, { headers: inline })
  if ((check.data?.data as { username?: string }).username !== 'demo-user') throw new Error('inline auth read failed')

  const results = await measureAll([
    ['login+read', async () => readSecret(vault, { token: (await login()).token, path: PATH })],
    ['cached token', () => readSecret(vault, { token: cached.token, path: PATH })],
    ['inline auth', () => vault('GET', PATH, { headers: inline })],
  ])
  console.log(`OpenBao ${bao.address}: ${ITERATIONS} reads each sequential and ${ITERATIONS} with ${CONCURRENCY} concurrent, in ${ROUNDS} alternating rounds`)
  console.table(
    results.map((r) => ({
      path: r.name,
      'median ms': r.sequentialMedianMs.toFixed(2),
      'p95 ms': r.sequentialP95Ms.toFixed(2),
      [`reads/s @${CONCURRENCY}`]: Math.round(r.concurrentPerSecond),
    })),
  )
} finally {
  await bao.stop()
  await issuer.stop()
}

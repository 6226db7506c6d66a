// The broker on HTTPS (Node and Deno): TLS_CERT_FILE and TLS_KEY_FILE served, a client holding
// the CA file reads a secret (curl --cacert, as a pod's script does), replaced files are served
// without a restart (cert-manager renewing), and plain HTTP is refused off loopback unless
// VAULT_EDGE_ALLOW_HTTP=1.
import { execFile } from 'node:child_process'
import { copyFileSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { runUntilExit, startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { certificateFingerprint, createTestPki, fetchTrusting, type PemFiles, type TestCa, type TestPki } from '../support/test-pki.ts'

const issuerUrl = inject('issuerUrl')
const BROKER_CONFIG = JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: inject('openbaoAddr') }))
// The issue's bound; the test sets a 1 s reload interval, so this is slack, not the expectation.
const RENEWAL_SERVED_WITHIN_MS = 60_000
let pki: TestPki
let ca: TestCa
const running: ProcessBroker[] = []

beforeAll(() => {
  pki = createTestPki()
  ca = pki.createCa('broker')
})
afterAll(async () => {
  await Promise.all(running.map((broker) => broker.stop()))
  pki?.cleanup()
})

/** Replaces the served files the way a Secret volume update does: each file swapped whole. */
function install(certificate: PemFiles, into: { cert: string; key: string }): void {
  for (const [from, to] of [[certificate.key, into.key], [certificate.cert, into.cert]] as const) {
    copyFileSync(from, `${to}.new`)
    renameSync(`${to}.new`, to)
  }
}

/** The SHA-256 fingerprint of the certificate the server presents now. */
function servedFingerprint(url: string): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), servername: 'localhost', ca: readFileSync(ca.cert) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.once('error', reject)
  })
}

async function waitForServed(url: string, fingerprint: string): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < RENEWAL_SERVED_WITHIN_MS) {
    // Deno swaps its listener for a new certificate: a connection in that instant may be refused.
    if ((await servedFingerprint(url).catch(() => undefined)) === fingerprint) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`certificate ${fingerprint} not served within ${RENEWAL_SERVED_WITHIN_MS} ms`)
}

describe.each(['node', 'deno'] as const)('the %s broker on HTTPS', (runtime) => {
  let broker: ProcessBroker
  let files: { cert: string; key: string }

  beforeAll(async () => {
    files = { cert: join(pki.dir, `${runtime}-tls.crt`), key: join(pki.dir, `${runtime}-tls.key`) }
    install(ca.issueServer(`${runtime}-first`, ['localhost', 'IP:127.0.0.1']), files)
    broker = await startProcessBroker(
      runtime,
      { BROKER_CONFIG, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_RELOAD_INTERVAL_SECONDS: '1' },
      { https: { fetch: fetchTrusting(ca.cert) } },
    )
    running.push(broker)
  })

  it('serves a secret to curl --cacert', async () => {
    const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
    const { stdout } = await promisify(execFile)('curl', [
      '-fsS',
      '--cacert',
      ca.cert,
      '-H',
      `Authorization: Bearer ${token}`,
      `${broker.url}/v1/secrets/secret/data/myapp/config?format=env`,
    ])
    expect(stdout).toContain("export USERNAME='demo-user'")
    expect(broker.output()).toContain(`"url":"https://127.0.0.1:`)
  })

  it('refuses a client that does not trust its CA', async () => {
    const run = promisify(execFile)('curl', ['-fsS', `${broker.url}/healthz`])
    await expect(run).rejects.toMatchObject({ code: 60 }) // curl: peer certificate cannot be authenticated
  })

  it('serves replaced certificate files without a restart, and keeps the old one while the new key does not match', async () => {
    const pid = broker.child.pid
    const second = ca.issueServer(`${runtime}-second`, ['localhost', 'IP:127.0.0.1'])
    install(second, files)
    const tookMs = await waitForServed(broker.url, certificateFingerprint(second.cert))
    expect(tookMs).toBeLessThan(RENEWAL_SERVED_WITHIN_MS)

    // Half a renewal: a new certificate with the old key. It must not be served, nor break serving.
    const third = ca.issueServer(`${runtime}-third`, ['localhost', 'IP:127.0.0.1'])
    install({ cert: third.cert, key: second.key }, files)
    await waitFor(() => broker.output().includes('new TLS certificate files not usable'))
    expect(await servedFingerprint(broker.url)).toBe(certificateFingerprint(second.cert))
    // The key arrives: now it is served.
    install(third, files)
    await waitForServed(broker.url, certificateFingerprint(third.cert))

    const health = await fetchTrusting(ca.cert)(`${broker.url}/healthz`)
    expect(health.status).toBe(200)
    expect(broker.child.pid).toBe(pid)
    expect(broker.child.exitCode).toBeNull()
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe.each(['node', 'deno'] as const)('the %s broker without TLS files', (runtime) => {
  it('refuses to serve plain HTTP on a non-loopback address, naming the way out', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG, HOST: '0.0.0.0' })
    expect(code).toBe(1)
    expect(output).toContain('HOST=0.0.0.0 without TLS_CERT_FILE and TLS_KEY_FILE')
    expect(output).toContain('VAULT_EDGE_ALLOW_HTTP=1')
  })

  it('refuses a certificate with a key that does not belong to it, and a missing file, naming them', async () => {
    const one = ca.issueServer(`${runtime}-mismatch-a`, ['localhost'])
    const other = ca.issueServer(`${runtime}-mismatch-b`, ['localhost'])
    const mismatched = await runUntilExit(runtime, { BROKER_CONFIG, TLS_CERT_FILE: one.cert, TLS_KEY_FILE: other.key })
    expect(mismatched.code).toBe(1)
    expect(mismatched.output).toContain('TLS_CERT_FILE and TLS_KEY_FILE: not a PEM certificate and the private key that belongs to it')
    const missing = await runUntilExit(runtime, { BROKER_CONFIG, TLS_CERT_FILE: one.cert, TLS_KEY_FILE: join(pki.dir, 'absent.key') })
    expect(missing.code).toBe(1)
    expect(missing.output).toContain(`TLS_KEY_FILE: cannot read ${join(pki.dir, 'absent.key')} (`)
    expect(missing.output).not.toMatch(/\n\s+at /)
  })

  it('refuses TLS_CERT_FILE without TLS_KEY_FILE', async () => {
    const { code, output } = await runUntilExit(runtime, { BROKER_CONFIG, TLS_CERT_FILE: join(pki.dir, 'broker-ca.pem') })
    expect(code).toBe(1)
    expect(output).toContain('TLS_CERT_FILE and TLS_KEY_FILE: set both or neither')
  })
})

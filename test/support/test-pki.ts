// Certificates for TLS tests, made with the openssl CLI: a CA, certificates it signs (server
// names as subjectAltNames, or a client certificate), written as PEM files in a directory.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'

export interface PemFiles {
  cert: string
  key: string
}

export interface TestCa extends PemFiles {
  /** A server certificate for these DNS names (and IP addresses, written `IP:127.0.0.1`). */
  issueServer(label: string, names: string[]): PemFiles
  /** A client certificate (extendedKeyUsage clientAuth). */
  issueClient(label: string): PemFiles
}

export interface TestPki {
  dir: string
  createCa(label: string): TestCa
  cleanup(): void
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] })

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'vault-edge-pki-'))
  const file = (name: string) => join(dir, name)
  const newKey = (path: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path])

  const createCa = (label: string): TestCa => {
    const ca = { cert: file(`${label}-ca.pem`), key: file(`${label}-ca.key`) }
    newKey(ca.key)
    openssl(['req', '-x509', '-new', '-key', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=vault-edge test ${label} CA`])
    const issue = (name: string, extensions: string, subject: string): PemFiles => {
      const issued = { cert: file(`${name}.pem`), key: file(`${name}.key`) }
      newKey(issued.key)
      openssl(['req', '-new', '-key', issued.key, '-out', file(`${name}.csr`), '-subj', subject])
      writeFileSync(file(`${name}.ext`), extensions)
      openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`, '-days', '2', '-out', issued.cert, '-extfile', file(`${name}.ext`)])
      return issued
    }
    return {
      ...ca,
      issueServer: (name, names) =>
        issue(name, `subjectAltName=${names.map((n) => (n.startsWith('IP:') ? n : `DNS:${n}`)).join(',')}\nextendedKeyUsage=serverAuth\n`, `/CN=${names[0]!.replace(/^IP:/, '')}`),
      issueClient: (name) => issue(name, 'extendedKeyUsage=clientAuth\n', `/CN=${name}`),
    }
  }
  return { dir, createCa, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The SHA-256 fingerprint of a PEM certificate file, as node:tls reports `fingerprint256`. */
export function certificateFingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256
}

/** A fetch that trusts only the CA in `caFile` (HTTPS to a broker with a test certificate). */
export function fetchTrusting(caFile: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } })
  return ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch
}

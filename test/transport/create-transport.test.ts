// Which fetch each outbound target gets (src/transport/): a Worker binding, TLS files, the
// Access service token, and the start-up errors for settings that cannot work where they are set.
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { createTransport, type RuntimeTransport } from '../../src/transport/create-transport.ts'
import { classifyTlsFailure, TlsFailureError } from '../../src/transport/tls-failure.ts'
import { loadTransportSettings, type TlsFiles } from '../../src/transport/transport-settings.ts'

const config = (vault: Record<string, unknown> = {}, cluster: Record<string, unknown> = {}) =>
  parseConfig(
    JSON.stringify({
      clusters: [{ name: 'prod', issuer: 'https://issuer.example', audiences: ['vault-edge'], ...cluster }],
      vault: { address: 'https://vault.example:8200', ...vault },
      rules: [{ role: 'r', paths: ['secret/*'] }],
    }),
  )

interface Call {
  via: string
  url: string
  headers: Headers
}

/** A fetch that records which route a request took and answers 200. */
const recording = (via: string, calls: Call[]): typeof fetch => async (input, init) => {
  calls.push({ via, url: String(input), headers: new Headers(init?.headers) })
  return new Response('{}', { status: 200 })
}

function build(configured: ReturnType<typeof config>, env: Record<string, string>, runtime: RuntimeTransport, calls: Call[]) {
  return createTransport(loadTransportSettings(configured, env), runtime, recording('global', calls), createMemoryLogger())
}

const issuesOf = (run: () => unknown): string[] => {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
  return []
}

describe('the Vault fetch', () => {
  it('goes through the binding vault.binding names, with the Access headers, never the global fetch', async () => {
    const calls: Call[] = []
    const transport = build(
      config({ binding: 'VAULT' }),
      { VAULT_CF_ACCESS_CLIENT_ID: 'id.access', VAULT_CF_ACCESS_CLIENT_SECRET: 'secret-value' },
      { binding: (name) => (name === 'VAULT' ? recording('binding', calls) : undefined) },
      calls,
    )
    await transport.vault('https://vault.example:8200/v1/sys/health', { headers: { 'X-Vault-Token': 't' } })
    expect(calls.map((call) => call.via)).toEqual(['binding'])
    expect(calls[0]!.headers.get('CF-Access-Client-Id')).toBe('id.access')
    expect(calls[0]!.headers.get('CF-Access-Client-Secret')).toBe('secret-value')
    expect(calls[0]!.headers.get('X-Vault-Token')).toBe('t')
    // The issuer has no binding of its own: it keeps the global fetch, without Vault's token.
    await transport.cluster('prod')('https://issuer.example/.well-known/openid-configuration')
    expect(calls[1]).toMatchObject({ via: 'global' })
    expect(calls[1]!.headers.has('CF-Access-Client-Id')).toBe(false)
  })

  it('gets the VAULT_* TLS files from the runtime, named by the settings that set them', () => {
    const seen: TlsFiles[] = []
    const calls: Call[] = []
    build(config(), { VAULT_CACERT: '/ca.pem', VAULT_CLIENT_CERT: '/c.pem', VAULT_CLIENT_KEY: '/c.key', VAULT_TLS_SERVER_NAME: 'vault.internal' }, { tls: (files) => (seen.push(files), recording('tls', calls)) }, calls)
    expect(seen).toEqual([
      {
        caCert: { path: '/ca.pem', setting: 'VAULT_CACERT' },
        clientCert: { path: '/c.pem', setting: 'VAULT_CLIENT_CERT' },
        clientKey: { path: '/c.key', setting: 'VAULT_CLIENT_KEY' },
        serverName: 'vault.internal',
      },
    ])
  })

  it('turns a TLS failure into TlsFailureError naming the cause', async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) })
    }
    const transport = createTransport(loadTransportSettings(config(), {}), {}, failing, createMemoryLogger())
    await expect(transport.vault('https://vault.example:8200/v1/sys/health')).rejects.toMatchObject({ name: 'TlsFailureError', kind: 'unknown_ca' })
  })
})

describe('an issuer behind Cloudflare Access, through its own binding', () => {
  it('sends the token its cfAccess names, and logs TLS failures with the cluster', async () => {
    const calls: Call[] = []
    const log = createMemoryLogger()
    const transport = createTransport(
      loadTransportSettings(config({}, { binding: 'ISSUER', cfAccess: { clientId: 'ISSUER_ID', clientSecret: 'ISSUER_SECRET' } }), { ISSUER_ID: 'issuer.access', ISSUER_SECRET: 'shh' }),
      { binding: (name) => (name === 'ISSUER' ? recording('issuer-binding', calls) : undefined) },
      recording('global', calls),
      log,
    )
    await transport.cluster('prod')('https://issuer.example/openid/v1/jwks')
    expect(calls).toMatchObject([{ via: 'issuer-binding' }])
    expect(calls[0]!.headers.get('CF-Access-Client-Id')).toBe('issuer.access')
    expect(log.lines.join('\n')).not.toContain('shh')
  })
})

describe('settings that cannot work where they are set stop the start, each named, no value', () => {
  it('lists every inconsistent setting', () => {
    const issues = issuesOf(() =>
      loadTransportSettings(config({}, { cfAccess: { clientId: 'ISSUER_ID', clientSecret: 'ISSUER_SECRET' } }), {
        VAULT_CLIENT_CERT: '/c.pem',
        VAULT_CF_ACCESS_CLIENT_ID: 'only-the-id',
      }),
    )
    expect(issues).toEqual([
      'VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: set both or neither',
      'VAULT_CF_ACCESS_CLIENT_ID and VAULT_CF_ACCESS_CLIENT_SECRET: set both or neither',
      'ISSUER_ID and ISSUER_SECRET: set both (named by BROKER_CONFIG.clusters.0.cfAccess)',
    ])
    expect(issues.join()).not.toContain('only-the-id')
  })

  it('refuses a binding on Node or Deno, a missing binding on Workers, and TLS files on Workers', () => {
    const calls: Call[] = []
    expect(issuesOf(() => build(config({ binding: 'VAULT' }), {}, { tls: () => recording('tls', calls) }, calls))).toEqual([
      'BROKER_CONFIG.vault.binding: Worker bindings exist only on Cloudflare Workers (on Node and Deno, reach it directly with VAULT_CACERT and VAULT_CLIENT_CERT)',
    ])
    expect(issuesOf(() => build(config({}, { binding: 'ISSUER' }), {}, { binding: () => undefined }, calls))).toEqual([
      'BROKER_CONFIG.clusters.0.binding: no binding named ISSUER with a fetch method (see wrangler.toml)',
    ])
    expect(issuesOf(() => build(config({}, { caCert: '/ca.pem' }), { VAULT_CACERT: '/ca.pem' }, { binding: () => undefined }, calls))).toEqual([
      'VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME: not available on Cloudflare Workers, which cannot read files; use a binding (an [[mtls_certificates]] binding or a Workers VPC service) instead',
      'BROKER_CONFIG.clusters.0.caCert: not available on Cloudflare Workers, which cannot read files; use a binding (an [[mtls_certificates]] binding or a Workers VPC service) instead',
    ])
  })

  it('refuses a binding name that is not an identifier', () => {
    expect(issuesOf(() => config({ binding: 'not a name' }))).toEqual(['BROKER_CONFIG.vault.binding: a Worker binding name'])
  })
})

describe('classifyTlsFailure', () => {
  it.each([
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'unknown_ca'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'name_mismatch'],
    [{ code: 'CERT_HAS_EXPIRED' }, 'certificate_expired'],
    [{ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }, 'client_certificate_required'],
    [{ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }, 'client_certificate_rejected'],
    [{ message: 'client error (Connect): invalid peer certificate: UnknownIssuer' }, 'unknown_ca'],
    [{ message: 'invalid peer certificate: NotValidForName' }, 'name_mismatch'],
    [{ message: 'received fatal alert: CertificateRequired' }, 'client_certificate_required'],
    [{ message: 'received fatal alert: BadCertificate' }, 'client_certificate_rejected'],
  ] as [{ code?: string; message?: string }, string][])('reads %o as %s, under a fetch failure', (fields, kind) => {
    const cause = Object.assign(new Error(fields.message ?? 'x'), fields)
    expect(classifyTlsFailure(new TypeError('fetch failed', { cause }))).toBe(kind)
  })

  it('leaves other failures alone: a refused connection is an outage, not a TLS problem', () => {
    expect(classifyTlsFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toBeUndefined()
    expect(classifyTlsFailure('not an error')).toBeUndefined()
  })

  it('describes each kind without quoting the library', () => {
    expect(new TlsFailureError('unknown_ca').message).toContain('unknown CA')
  })
})

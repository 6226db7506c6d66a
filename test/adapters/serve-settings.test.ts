// Where the Node and Deno entries listen, and when they may do it without TLS.
import { describe, expect, it } from 'vitest'
import { readServeSettings } from '../../src/adapters/serve-settings.ts'
import { ConfigError } from '../../src/config.ts'

const issuesOf = (env: Record<string, string>) => {
  try {
    readServeSettings(env)
    return []
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
}

describe('readServeSettings', () => {
  it('serves plain HTTP on loopback by default (local development, the tests, the demo)', () => {
    expect(readServeSettings({})).toEqual({ port: 8787, hostname: '127.0.0.1', tls: undefined })
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost']) expect(issuesOf({ HOST: host }), host).toEqual([])
  })

  it('refuses plain HTTP on any other address unless VAULT_EDGE_ALLOW_HTTP=1', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.7', 'vault-edge.internal']) {
      expect(issuesOf({ HOST: host }).join(), host).toContain(`HOST=${host} without TLS_CERT_FILE and TLS_KEY_FILE`)
      expect(issuesOf({ HOST: host, VAULT_EDGE_ALLOW_HTTP: '1' }), host).toEqual([])
      expect(issuesOf({ HOST: host, VAULT_EDGE_ALLOW_HTTP: 'true' }).length, host).toBe(1)
    }
  })

  it('serves HTTPS with both files, reloading every TLS_RELOAD_INTERVAL_SECONDS (default 10)', () => {
    expect(readServeSettings({ HOST: '0.0.0.0', PORT: '8443', TLS_CERT_FILE: '/tls/tls.crt', TLS_KEY_FILE: '/tls/tls.key' })).toEqual({
      port: 8443,
      hostname: '0.0.0.0',
      tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', reloadIntervalMs: 10_000 },
    })
    expect(readServeSettings({ TLS_CERT_FILE: 'c', TLS_KEY_FILE: 'k', TLS_RELOAD_INTERVAL_SECONDS: '1' }).tls?.reloadIntervalMs).toBe(1000)
  })

  it('refuses a PORT that is not a port number, naming the fix', () => {
    expect(() => readServeSettings({ PORT: 'http' })).toThrow('PORT: must be a TCP port number (0–65535), e.g. PORT=8787')
  })

  it('names every bad setting', () => {
    expect(issuesOf({ TLS_CERT_FILE: 'c', TLS_RELOAD_INTERVAL_SECONDS: '61' })).toEqual([
      'TLS_RELOAD_INTERVAL_SECONDS: a whole number of seconds from 1 to 60',
      'TLS_CERT_FILE and TLS_KEY_FILE: set both or neither',
    ])
  })
})

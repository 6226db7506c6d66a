// The cluster part of BROKER_CONFIG (SPEC §7) as src/identity relies on it.
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'

const cluster = { name: 'prod-eu', issuer: 'https://oidc.example.com/id/ABC', audiences: ['vault-edge'] }
const publicJwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }

function issuesOf(clusters: unknown[]): string[] {
  try {
    parseConfig(JSON.stringify({ clusters, vault: { address: 'https://vault.example.com:8200' }, rules: [{ role: 'any', paths: ['*'] }] }))
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
  return []
}

describe('cluster config', () => {
  it('defaults to what kube-apiserver signs with, a 30 s leeway, 24 h maximum age and no legacy tokens', () => {
    const [parsed] = parseConfig(JSON.stringify({ clusters: [cluster], vault: { address: 'https://vault.example.com:8200' }, rules: [{ role: 'any', paths: ['*'] }] })).clusters
    expect(parsed).toMatchObject({ algorithms: ['RS256', 'ES256', 'ES384', 'ES512'], clockLeewaySeconds: 30, maxTokenAgeSeconds: 86400, allowLegacyTokens: false })
  })

  it.each(['HS256', 'HS384', 'HS512', 'none', 'None'])('cannot allow %s', (alg) => {
    expect(issuesOf([{ ...cluster, algorithms: ['RS256', alg] }])).toEqual([
      'BROKER_CONFIG.clusters.0.algorithms.1: must be one of: "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"',
    ])
  })

  it('bounds the clock leeway at 60 s', () => {
    expect(issuesOf([{ ...cluster, clockLeewaySeconds: 60 }])).toEqual([])
    expect(issuesOf([{ ...cluster, clockLeewaySeconds: 61 }])).toEqual(['BROKER_CONFIG.clusters.0.clockLeewaySeconds: must be at most 60'])
  })

  it('takes public keys only in an inline JWKS, and names the key, not its value', () => {
    expect(issuesOf([{ ...cluster, jwks: { keys: [publicJwk] } }])).toEqual([])
    const issues = issuesOf([{ ...cluster, jwks: { keys: [publicJwk, { ...publicJwk, d: 'c2VjcmV0LXByaXZhdGUta2V5' }, { kty: 'oct', k: 'c2VjcmV0' }] } }])
    expect(issues).toEqual([
      'BROKER_CONFIG.clusters.0.jwks.keys.1: must be a public key (no private members)',
      'BROKER_CONFIG.clusters.0.jwks.keys.2.kty: must be one of: "RSA", "EC", "OKP"',
    ])
    expect(issues.join('\n')).not.toContain('c2VjcmV0')
  })

  it('wants one key source, and jwks or jwksUri when the issuer is no URL to discover from', () => {
    expect(issuesOf([{ ...cluster, jwks: { keys: [publicJwk] }, jwksUri: 'https://oidc.example.com/keys' }])).toEqual([
      'BROKER_CONFIG.clusters.0.jwksUri: set jwks or jwksUri, not both',
    ])
    expect(issuesOf([{ ...cluster, issuer: 'kubernetes/serviceaccount' }])).toEqual([
      'BROKER_CONFIG.clusters.0.issuer: not an http(s) URL to discover keys from: set jwks or jwksUri',
    ])
    expect(issuesOf([{ ...cluster, issuer: 'kubernetes/serviceaccount', jwks: { keys: [publicJwk] } }])).toEqual([])
  })
})

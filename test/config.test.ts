import { describe, expect, it } from 'vitest'
import { ConfigError, loadBindings, parseConfig } from '../src/config.ts'

const minimal = {
  clusters: [{ name: 'prod-eu', issuer: 'https://oidc.example.com/id/ABC', audiences: ['vault-edge'] }],
  vault: { address: 'https://vault.example.com:8200' },
  rules: [{ namespace: 'payments', role: '{namespace}-{serviceAccount}', paths: ['secret/data/payments/*'] }],
}
const KEY = 'a'.repeat(64)

function issuesOf(run: () => unknown): string[] {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error.issues
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('config', () => {
  it('fills the documented defaults', () => {
    const config = parseConfig(JSON.stringify(minimal))
    expect(config.clusters[0]).toMatchObject({ algorithms: ['RS256', 'ES256', 'ES384', 'ES512'], allowLegacyTokens: false, maxTokenAgeSeconds: 86400 })
    expect(config.vault).toMatchObject({ authMethod: 'jwt', authMount: 'jwt', timeoutMs: 5000, namespace: null })
    expect(config.cache).toEqual({ kvTtlSeconds: 60, maxStaleSeconds: 3600 })
    expect(config.rules[0]).toMatchObject({ cluster: '*', serviceAccount: '*' })
  })

  it('names every offending field and never its value', () => {
    const bad = {
      ...minimal,
      clusters: [{ name: 'Bad Name', issuer: 'https://x', audiences: [], algorithms: ['HS256'] }],
      vault: { address: 'not-a-url-s3cr3t' },
    }
    const issues = issuesOf(() => parseConfig(JSON.stringify(bad)))
    expect(issues.join('\n')).toMatch(/clusters\.0\.name/)
    expect(issues.join('\n')).toMatch(/clusters\.0\.audiences/)
    expect(issues.join('\n')).toMatch(/clusters\.0\.algorithms\.0/)
    expect(issues.join('\n')).toMatch(/vault\.address/)
    expect(issues.join('\n')).not.toContain('s3cr3t')
  })

  it('rejects JSON that does not parse without quoting it', () => {
    expect(issuesOf(() => parseConfig('{"token": "s3cr3t"'))).toEqual(['BROKER_CONFIG: not valid JSON'])
  })

  it('refuses a Redis cache without CACHE_ENCRYPTION_KEY', () => {
    const issues = issuesOf(() =>
      loadBindings({ BROKER_CONFIG: JSON.stringify(minimal), UPSTASH_REDIS_REST_URL: 'https://r', UPSTASH_REDIS_REST_TOKEN: 't' }),
    )
    expect(issues.join('\n')).toMatch(/CACHE_ENCRYPTION_KEY: required/)
  })

  it('accepts a Redis cache with a 32-byte key, and memory without one', () => {
    expect(loadBindings({ BROKER_CONFIG: JSON.stringify(minimal) }).upstash).toBeUndefined()
    const bindings = loadBindings({
      BROKER_CONFIG: JSON.stringify(minimal),
      UPSTASH_REDIS_REST_URL: 'https://r',
      UPSTASH_REDIS_REST_TOKEN: 't',
      CACHE_ENCRYPTION_KEY: KEY,
    })
    expect(bindings.upstash).toEqual({ url: 'https://r', token: 't' })
  })

  it('rejects an encryption key of the wrong size without echoing it', () => {
    const issues = issuesOf(() => loadBindings({ BROKER_CONFIG: JSON.stringify(minimal), CACHE_ENCRYPTION_KEY: 'short-key-value' }))
    expect(issues.join('\n')).toMatch(/CACHE_ENCRYPTION_KEY: must be 32 bytes/)
    expect(issues.join('\n')).not.toContain('short-key-value')
  })

  it('rejects duplicate cluster names and issuers', () => {
    const twice = { ...minimal, clusters: [minimal.clusters[0], minimal.clusters[0]] }
    const issues = issuesOf(() => parseConfig(JSON.stringify(twice)))
    expect(issues).toContain('BROKER_CONFIG.clusters.1.name: duplicate cluster name')
    expect(issues).toContain('BROKER_CONFIG.clusters.1.issuer: duplicate issuer')
  })

  describe('messages that say what to write', () => {
    const without = (field: 'rules' | 'vault') => Object.fromEntries(Object.entries(minimal).filter(([name]) => name !== field))

    it('says "required" for a missing field, at any depth', () => {
      expect(issuesOf(() => parseConfig(JSON.stringify(without('rules'))))).toEqual(['BROKER_CONFIG.rules: required: add this field'])
      const noIssuer = { ...minimal, clusters: [{ name: 'prod-eu', audiences: ['vault-edge'] }] }
      expect(issuesOf(() => parseConfig(JSON.stringify(noIssuer)))).toEqual(['BROKER_CONFIG.clusters.0.issuer: required: add this field'])
    })

    it('lists the allowed values of a bad choice, without the value given', () => {
      const issues = issuesOf(() => parseConfig(JSON.stringify({ ...minimal, vault: { ...minimal.vault, authMethod: 'ldap-s3cr3t' } })))
      expect(issues).toEqual(['BROKER_CONFIG.vault.authMethod: must be one of: "jwt", "kubernetes"'])
    })

    it('names the expected type and the one given', () => {
      const issues = issuesOf(() => parseConfig(JSON.stringify({ ...minimal, clusters: [{ ...minimal.clusters[0], audiences: 'vault-edge' }] })))
      expect(issues).toEqual(['BROKER_CONFIG.clusters.0.audiences: must be a list ([…]), not a string'])
    })

    it.each([
      ['vault.example.com:8200', 'must start with https:// (or http:// for a local dev server)'],
      ['ftp://vault.example.com', 'must start with https:// (or http:// for a local dev server)'],
      ['not a url', 'not a URL: write it with its scheme'],
      ['https://vault.example.com:8200/v1', 'drop the trailing /v1: the broker adds /v1/… to every Vault API path itself'],
      ['https://vault.example.com:8200/v1/', 'drop the trailing /v1'],
      ['https://vault.example.com/vault', 'must be scheme, host and port only'],
      ['https://vault.example.com/?x=1', 'must be scheme, host and port only'],
      ['https://user:pw@vault.example.com', 'must not carry credentials'],
    ])('refuses vault.address %s and says why', (address, why) => {
      const issues = issuesOf(() => parseConfig(JSON.stringify({ ...minimal, vault: { address } })))
      expect(issues).toHaveLength(1)
      expect(issues[0]).toContain(`BROKER_CONFIG.vault.address: ${why}`)
    })

    it.each(['https://vault.example.com:8200', 'https://vault.example.com:8200/', 'http://127.0.0.1:8200'])('accepts vault.address %s', (address) => {
      expect(parseConfig(JSON.stringify({ ...minimal, vault: { address } })).vault.address).toBe(address)
    })

    it('refuses a rule that names a cluster the config does not have, listing the ones it has', () => {
      const rules = [{ ...minimal.rules[0], cluster: 'prod-us' }, { ...minimal.rules[0], cluster: 'prod-*' }, { ...minimal.rules[0], cluster: 'dev-*' }]
      const issues = issuesOf(() => parseConfig(JSON.stringify({ ...minimal, rules })))
      expect(issues).toEqual([
        'BROKER_CONFIG.rules.0.cluster: matches no cluster: use one of clusters[].name (prod-eu) or a glob such as *',
        'BROKER_CONFIG.rules.2.cluster: matches no cluster: use one of clusters[].name (prod-eu) or a glob such as *',
      ])
    })

    it('refuses an empty rules list: every request would be a 403', () => {
      expect(issuesOf(() => parseConfig(JSON.stringify({ ...minimal, rules: [] })))).toEqual([
        'BROKER_CONFIG.rules: add at least one rule: with none, every request would be refused (403)',
      ])
    })
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config.ts'
import { AppError } from '../src/errors.ts'
import type { Identity } from '../src/identity/identity.ts'
import { matchesGlob, resolveAccess, validateSecretPath } from '../src/rules.ts'

const config = parseConfig(
  JSON.stringify({
    clusters: [{ name: 'prod-eu', issuer: 'https://issuer', audiences: ['vault-edge'] }],
    vault: { address: 'https://vault:8200' },
    rules: [
      { namespace: 'payments', serviceAccount: 'api', role: 'payments-api-special', roles: ['{namespace}-readonly'], paths: ['secret/data/payments/api/*'] },
      { namespace: 'payments', role: '{cluster}-{namespace}-{serviceAccount}', paths: ['secret/data/payments/*', 'database/creds/payments-*'], issuingPaths: ['pki/issue/payments'] },
    ],
  }),
)

const identity = (namespace: string, serviceAccount: string): Identity => ({
  cluster: 'prod-eu',
  namespace,
  serviceAccount,
  serviceAccountUid: 'uid',
  pod: undefined,
  podUid: undefined,
})

const statusOf = (run: () => unknown) => {
  try {
    run()
    return 200
  } catch (error) {
    if (error instanceof AppError) return error.status
    throw error
  }
}

describe('rules', () => {
  it('gives the first matching rule and fills the role placeholders', () => {
    expect(resolveAccess(config.rules, identity('payments', 'worker'), 'secret/data/payments/db', { method: 'GET' }).role).toBe('prod-eu-payments-worker')
    expect(resolveAccess(config.rules, identity('payments', 'api'), 'secret/data/payments/api/key', { method: 'GET' }).role).toBe('payments-api-special')
  })

  it('answers 403 before Vault for an identity no rule names', () => {
    expect(statusOf(() => resolveAccess(config.rules, identity('billing', 'api'), 'secret/data/payments/db', { method: 'GET' }))).toBe(403)
  })

  it('answers 403 for a path outside the rule even when a later rule would allow it', () => {
    // first match wins: payments/api only gets secret/data/payments/api/*
    expect(statusOf(() => resolveAccess(config.rules, identity('payments', 'api'), 'secret/data/payments/db', { method: 'GET' }))).toBe(403)
  })

  it('lets POST reach only issuing paths', () => {
    expect(statusOf(() => resolveAccess(config.rules, identity('payments', 'x'), 'pki/issue/payments', { method: 'POST' }))).toBe(200)
    expect(statusOf(() => resolveAccess(config.rules, identity('payments', 'x'), 'secret/data/payments/db', { method: 'POST' }))).toBe(403)
  })

  it('accepts a requested role only when the rule lists it', () => {
    const access = resolveAccess(config.rules, identity('payments', 'api'), 'secret/data/payments/api/k', { method: 'GET', requestedRole: 'payments-readonly' })
    expect(access.role).toBe('payments-readonly')
    expect(statusOf(() => resolveAccess(config.rules, identity('payments', 'api'), 'secret/data/payments/api/k', { method: 'GET', requestedRole: 'admin' }))).toBe(403)
  })

  it('matches * across slashes as Vault policy globs do, and nothing else', () => {
    expect(matchesGlob('secret/data/payments/*', 'secret/data/payments/a/b')).toBe(true)
    expect(matchesGlob('secret/data/payments/*', 'secret/data/payment')).toBe(false)
    expect(matchesGlob('secret/data/pay.ents/*', 'secret/data/payXents/a')).toBe(false)
  })

  it('refuses paths that Vault would clean into another path', () => {
    for (const path of ['secret/data/payments/../admin', 'secret/data/./x', 'secret//data', '/secret', 'secret/', 'a%2fb', 'a\\b', 'a\nb', '']) {
      expect(statusOf(() => validateSecretPath(path)), path).toBe(400)
    }
  })

  it('never lets a validated path with a dot segment match a glob (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '..', '.', 'payments', '', 'x*'), { minLength: 1, maxLength: 6 }), (segments) => {
        const path = ['secret', 'data', 'payments', ...segments].join('/')
        const status = statusOf(() => validateSecretPath(path))
        if (segments.some((segment) => segment === '..' || segment === '.' || segment === '')) expect(status).toBe(400)
        else expect(status).toBe(200)
      }),
    )
  })
})

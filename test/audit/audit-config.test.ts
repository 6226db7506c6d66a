// BROKER_CONFIG.audit and .limits: defaults, and the mistakes named at start-up.
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'

const base = { clusters: [{ name: 'c', issuer: 'https://issuer.example', audiences: ['vault-edge'] }], vault: { address: 'https://vault.example:8200' }, rules: [{ role: 'r', paths: ['secret/*'] }] }
const issuesOf = (extra: Record<string, unknown>) => {
  try {
    parseConfig(JSON.stringify({ ...base, ...extra }))
    return []
  } catch (error) {
    return (error as ConfigError).issues
  }
}

describe('audit and limits config', () => {
  it('defaults to stdout only and the failed-authentication limit alone', () => {
    const config = parseConfig(JSON.stringify(base))
    expect(config.audit).toEqual({ required: false })
    expect(config.limits).toEqual({ failedAuth: { perAddress: 100, windowSeconds: 60 } })
  })

  it('fills in the sink defaults', () => {
    expect(parseConfig(JSON.stringify({ ...base, audit: { sink: { url: 'https://logs.example/in' } } })).audit.sink).toEqual({
      url: 'https://logs.example/in',
      header: 'Authorization',
      timeoutMs: 5000,
      maxBatch: 100,
    })
  })

  it('refuses audit.required without a sink, a header name that is not one, and unknown fields', () => {
    expect(issuesOf({ audit: { required: true } })).toEqual(['BROKER_CONFIG.audit.required: required needs a sink (stdout cannot refuse)'])
    expect(issuesOf({ audit: { sink: { url: 'https://logs.example/in', header: 'Bad Header:' } } })).toEqual(['BROKER_CONFIG.audit.sink.header: an HTTP header name'])
    expect(issuesOf({ audit: { sink: { url: 'https://logs.example/in', token: 'hunter2' } } })).toEqual(['BROKER_CONFIG.audit.sink: unknown field token'])
    expect(issuesOf({ limits: { failedAuth: { perAddress: 0 } } })).toEqual(['BROKER_CONFIG.limits.failedAuth.perAddress: must be greater than 0'])
  })

  it('turns the failed-authentication limit off with false', () => {
    expect(parseConfig(JSON.stringify({ ...base, limits: { failedAuth: false } })).limits.failedAuth).toBe(false)
  })
})

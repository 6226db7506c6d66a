// OIDC discovery decides where a cluster's keys come from, and the keys decide every identity of
// that cluster. An https issuer's document must not send the broker to fetch them over http.
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/cache/memory-store.ts'
import { createSealer } from '../../src/cache/seal.ts'
import { createSecureCache } from '../../src/cache/secure-cache.ts'
import { createJwksUriDiscovery } from '../../src/identity/jwks-uri-discovery.ts'

async function discoveryFor(issuer: string, jwksUri: string) {
  const fetched: string[] = []
  const fetchStub: typeof fetch = async (input) => {
    const url = String(input instanceof Request ? input.url : input)
    fetched.push(url)
    return Response.json({ issuer, jwks_uri: jwksUri })
  }
  const cache = createSecureCache(createMemoryStore(Date.now), await createSealer(undefined))
  return { discover: createJwksUriDiscovery({ issuer, fetch: fetchStub, cache }), fetched }
}

describe('OIDC discovery of the JWKS', () => {
  it('refuses an http jwks_uri from an https issuer', async () => {
    const { discover, fetched } = await discoveryFor('https://oidc.example.com/id/ABC', 'http://oidc.example.com/id/ABC/keys')
    await expect(discover()).rejects.toThrow(/jwks_uri/)
    expect(fetched).toEqual(['https://oidc.example.com/id/ABC/.well-known/openid-configuration'])
  })

  it('takes an https jwks_uri from an https issuer, and http from an http issuer (a local cluster)', async () => {
    const secure = await discoveryFor('https://oidc.example.com/id/ABC', 'https://keys.example.com/jwks')
    expect((await secure.discover()).href).toBe('https://keys.example.com/jwks')
    const local = await discoveryFor('http://127.0.0.1:6443', 'http://127.0.0.1:6443/openid/v1/jwks')
    expect((await local.discover()).href).toBe('http://127.0.0.1:6443/openid/v1/jwks')
  })
})

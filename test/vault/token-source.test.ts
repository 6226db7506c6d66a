// Token reuse, renewal and the one fresh login after a 403, with a scripted Vault and a fake
// clock (the same behaviour against the real OpenBao: token-lifecycle.test.ts).
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { createTokenSource, tokenPartsOf, usableSeconds, DENIED_RELOGIN_INTERVAL_SECONDS } from '../../src/vault/token-source.ts'
import { authAnswer, createClock, createFakeVault, createTestCache, denied } from './support/fake-vault.ts'

const identity: Identity = { cluster: 'c', namespace: 'ns', serviceAccount: 'app', serviceAccountUid: 'uid-1', pod: 'p', podUid: 'pu' }
const request = { identity, jwt: 'eyJ.pod.jwt', role: 'app', authMount: 'jwt' }

async function setUp(ttlSeconds = 3600) {
  const clock = createClock()
  const fake = createFakeVault()
  fake.on(/^auth\/jwt\/login$/, () => authAnswer(ttlSeconds))
  fake.on(/^auth\/token\/renew-self$/, (call) => authAnswer(ttlSeconds, { token: call.token }))
  fake.on(/^secret\//, (call) => ({ data: { token: call.token } }))
  const cache = await createTestCache(clock.now)
  const tokens = createTokenSource({ vault: fake.vault, cache, now: clock.now })
  const read = () => tokens.withToken(request, async (login) => login.token)
  return { clock, fake, cache, tokens, read }
}

describe('token source', () => {
  it('logs in once and reuses the token', async () => {
    const { fake, read } = await setUp()
    const first = await read()
    expect(await read()).toBe(first)
    expect(fake.count(/login/)).toBe(1)
  })

  it('shares one login between concurrent first requests', async () => {
    const { fake, read } = await setUp()
    const tokens = await Promise.all([read(), read(), read(), read()])
    expect(new Set(tokens).size).toBe(1)
    expect(fake.count(/login/)).toBe(1)
  })

  it('renews a renewable token once half its TTL has passed, and keeps using it', async () => {
    const { clock, fake, read } = await setUp(600)
    const first = await read()
    clock.advance(250_000)
    expect(await read()).toBe(first)
    expect(fake.count(/renew-self/)).toBe(0)
    clock.advance(60_000)
    expect(await read()).toBe(first)
    expect(fake.count(/renew-self/)).toBe(1)
    expect(fake.calls.find((call) => call.path === 'auth/token/renew-self')?.body).toEqual({ increment: '600s' })
    // Renewed: good for another 600 s from now.
    clock.advance(500_000)
    expect(await read()).toBe(first)
    expect(fake.count(/login/)).toBe(1)
  })

  it('logs in again when the token would end within its margin', async () => {
    const { clock, fake, read } = await setUp(600)
    fake.on(/^auth\/token\/renew-self$/, (call) => authAnswer(20, { token: call.token })) // at its max TTL
    const first = await read()
    clock.advance(301_000)
    expect(await read()).toBe(first) // renewed, but only for 20 s
    clock.advance(16_000)
    expect(await read()).not.toBe(first)
    expect(fake.count(/login/)).toBe(2)
  })

  it('after a 403 on a revoked cached token: exactly one fresh login and one more try, then the answer stands', async () => {
    const { fake, tokens, read } = await setUp()
    fake.on(/^auth\/token\/lookup-self$/, denied) // Vault's answer for a revoked token
    const first = await read()
    const seen: string[] = []
    const result = await tokens.withToken(request, async (login) => {
      seen.push(login.token)
      if (login.token === first) denied()
      return 'ok'
    })
    expect(result).toBe('ok')
    expect(seen).toHaveLength(2)
    expect(fake.count(/login/)).toBe(2)
  })

  it('passes a 403 on a token that still stands on with no new login, until the token is older than the re-login interval', async () => {
    const { clock, fake, tokens, read } = await setUp(3600)
    fake.on(/^auth\/token\/lookup-self$/, () => ({ data: { ttl: 3000 } }))
    await read()
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(tokens.withToken(request, async () => denied())).rejects.toMatchObject({ status: 403 })
    }
    expect(fake.count(/login/)).toBe(1)
    // Past the interval a 403 may mean the role's policies changed: one fresh login finds out.
    clock.advance((DENIED_RELOGIN_INTERVAL_SECONDS + 1) * 1000)
    await expect(tokens.withToken(request, async () => denied())).rejects.toMatchObject({ status: 403 })
    expect(fake.count(/login/)).toBe(2)
  })

  it('makes one fresh login for concurrent requests that all meet a 403 on the same cached token', async () => {
    const { fake, tokens, read } = await setUp()
    const revoked = await read()
    const used = await Promise.all(
      Array.from({ length: 5 }, () =>
        tokens.withToken(request, async (login) => {
          if (login.token === revoked) denied()
          return login.token
        }),
      ),
    )
    expect(new Set(used).size).toBe(1)
    expect(fake.count(/login/)).toBe(2)
  })

  it('does not retry a 403 on a token that was just issued', async () => {
    const { fake, tokens } = await setUp()
    let tries = 0
    await expect(tokens.withToken(request, async () => (tries++, denied()))).rejects.toMatchObject({ status: 403, code: 'vault_denied' })
    expect(tries).toBe(1)
    expect(fake.count(/login/)).toBe(1)
  })

  it('maps a refused login (400 from the jwt method, 403 from kubernetes) to 403 vault_denied', async () => {
    for (const status of [400, 403]) {
      const { fake, read } = await setUp()
      fake.on(/login/, () => {
        throw new AppError(status, 'vault_bad_request', 'role "app" could not be found')
      })
      await expect(read()).rejects.toMatchObject({ status: 403, code: 'vault_denied' })
    }
  })

  it('replaces a token that renew-self says is revoked with a fresh login', async () => {
    const { clock, fake, read } = await setUp(600)
    const first = await read()
    fake.on(/renew-self/, denied)
    clock.advance(301_000)
    const second = await read()
    expect(second).not.toBe(first)
    expect(fake.count(/login/)).toBe(2)
  })

  it('keepAlive renews a cached token that would end within the horizon, and knows nothing uncached', async () => {
    const { clock, fake, tokens, read } = await setUp(600)
    const parts = tokenPartsOf(request)
    expect(await tokens.keepAlive(parts, 60)).toBeUndefined()
    await read()
    expect((await tokens.keepAlive(parts, 60))?.issuedAtMs).toBe(clock.now())
    expect(fake.count(/renew-self/)).toBe(0)
    clock.advance(100_000)
    await tokens.keepAlive(parts, 550)
    expect(fake.count(/renew-self/)).toBe(1)
  })

  it('computes how long a token may be used: TTL minus 30 s, or a quarter of short TTLs', () => {
    const login = (ttlSeconds: number) => ({ token: 't', accessor: 'a', ttlSeconds, renewable: true, issuedAtMs: 0 })
    expect(usableSeconds(login(3600), 0)).toBe(3570)
    expect(usableSeconds(login(8), 0)).toBe(6)
    expect(usableSeconds(login(3600), 3_580_000)).toBe(0)
    expect(usableSeconds(login(0), 0)).toBe(300)
  })
})

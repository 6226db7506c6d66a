// The transport's mapping of Vault's answers to SPEC §2, with a stand-in fetch: every status
// Vault answers with, timeouts and refused connections. Vault's error text never comes through.
import { describe, expect, it } from 'vitest'
import { AppError, toProblem } from '../../src/errors.ts'
import { createVaultClient } from '../../src/vault/vault-client.ts'

const VAULT_TEXT = 'permission denied on secret/data/other-team/db for policy admin'

function clientAnswering(respond: (request: Request, signal: AbortSignal) => Response | Promise<Response>, timeoutMs = 1000) {
  const seen: Request[] = []
  const vault = createVaultClient({
    address: 'https://vault.example.com:8200/',
    namespace: 'team-a',
    timeoutMs,
    fetch: async (input, init) => {
      const request = new Request(input, init)
      seen.push(request)
      return respond(request, init!.signal!)
    },
  })
  return { vault, seen }
}

const vaultError = (status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ errors: [VAULT_TEXT] }), { status, headers: { 'Content-Type': 'application/json', ...headers } })

async function failure(run: () => Promise<unknown>): Promise<AppError> {
  try {
    await run()
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected an AppError')
}

describe('Vault answers → SPEC §2', () => {
  it.each([
    [400, 400, 'vault_bad_request'],
    [403, 403, 'vault_denied'],
    [404, 404, 'not_found'],
    [405, 405, 'method_not_allowed'],
    [412, 502, 'vault_error'],
    [429, 429, 'rate_limited'],
    [500, 502, 'vault_error'],
    [502, 502, 'vault_error'],
    [503, 503, 'vault_unavailable'],
  ])('Vault %i → %i %s, without Vault\'s words', async (vaultStatus, status, code) => {
    const { vault } = clientAnswering(() => vaultError(vaultStatus))
    const error = await failure(() => vault('GET', 'secret/data/x', { token: 't' }))
    expect(error).toMatchObject({ status, code })
    const wire = JSON.stringify(toProblem(error, 'req-1'))
    expect(wire).not.toContain('permission denied')
    expect(wire).not.toContain('other-team')
  })

  it("passes Vault's Retry-After on with a 429, and says 5 s when Vault gives none", async () => {
    expect((await failure(() => clientAnswering(() => vaultError(429, { 'Retry-After': '17' })).vault('GET', 'x'))).headers).toEqual({ 'Retry-After': '17' })
    expect((await failure(() => clientAnswering(() => vaultError(429)).vault('GET', 'x'))).headers).toEqual({ 'Retry-After': '5' })
    expect((await failure(() => clientAnswering(() => vaultError(503)).vault('GET', 'x'))).headers).toEqual({ 'Retry-After': '5' })
  })

  it('answers 504 when Vault does not answer within timeoutMs', async () => {
    const { vault } = clientAnswering(
      (_request, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      50,
    )
    const started = Date.now()
    expect(await failure(() => vault('GET', 'x'))).toMatchObject({ status: 504, code: 'vault_timeout' })
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('answers 504 when Vault sends its headers in time but its body does not follow', async () => {
    const { vault } = clientAnswering((_request, signal) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"data": {"password": '))
          signal.addEventListener('abort', () => controller.error(signal.reason))
        },
      })
      return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } })
    }, 50)
    expect(await failure(() => vault('GET', 'x'))).toMatchObject({ status: 504, code: 'vault_timeout' })
  })

  it('answers 503 with Retry-After when the connection fails', async () => {
    const { vault } = clientAnswering(() => Promise.reject(new TypeError('fetch failed: connect ECONNREFUSED 10.0.0.1:8200')))
    const error = await failure(() => vault('GET', 'x'))
    expect(error).toMatchObject({ status: 503, code: 'vault_unavailable', headers: { 'Retry-After': '5' } })
    expect(JSON.stringify(toProblem(error, 'r'))).not.toContain('ECONNREFUSED')
  })

  it('answers 502 to a 200 that is not JSON (a proxy page, say)', async () => {
    const { vault } = clientAnswering(() => new Response('<html>login</html>', { status: 200 }))
    expect(await failure(() => vault('GET', 'x'))).toMatchObject({ status: 502, code: 'vault_error' })
  })

  it('does not follow redirects (a standby pointing elsewhere must not get the token)', async () => {
    const { vault } = clientAnswering(() => new Response(null, { status: 307, headers: { Location: 'https://elsewhere.example.com/v1/x' } }))
    expect(await failure(() => vault('GET', 'x', { token: 'secret-token' }))).toMatchObject({ status: 502 })
  })
})

describe('requests to Vault', () => {
  it('sends the token, the namespace and a JSON body to /v1/<path>', async () => {
    const { vault, seen } = clientAnswering(() => Response.json({ data: { ok: true } }))
    expect(await vault('POST', 'pki/issue/web', { token: 's.abc', body: { common_name: 'a' } })).toEqual({ data: { ok: true } })
    const [request] = seen
    expect(request!.url).toBe('https://vault.example.com:8200/v1/pki/issue/web')
    expect(request!.headers.get('x-vault-token')).toBe('s.abc')
    expect(request!.headers.get('x-vault-namespace')).toBe('team-a')
    expect(request!.headers.get('content-type')).toBe('application/json')
    expect(await request!.json()).toEqual({ common_name: 'a' })
  })

  it('lets one request override the namespace, or send none', async () => {
    const { vault, seen } = clientAnswering(() => Response.json({}))
    await vault('GET', 'x', { namespace: 'team-b' })
    await vault('GET', 'x', { namespace: null })
    expect(seen.map((request) => request.headers.get('x-vault-namespace'))).toEqual(['team-b', null])
  })

  it('returns undefined for 204 No Content', async () => {
    const { vault } = clientAnswering(() => new Response(null, { status: 204 }))
    expect(await vault('DELETE', 'x')).toBeUndefined()
  })
})

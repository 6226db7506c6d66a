// A scripted stand-in for the Vault transport, for the token and lease logic alone: a fake
// clock, a real (memory) secure cache, and a Vault that answers from handlers per path and
// records every call. Integration tests use the real OpenBao; this one makes time cheap.
import { createMemoryStore } from '../../../src/cache/memory-store.ts'
import { createSealer } from '../../../src/cache/seal.ts'
import { createSecureCache, type SecureCache } from '../../../src/cache/secure-cache.ts'
import { AppError } from '../../../src/errors.ts'
import type { VaultClient, VaultRequest } from '../../../src/vault/vault-client.ts'

export interface VaultCall {
  method: string
  path: string
  token: string | undefined
  body: unknown
}

export type Handler = (call: VaultCall) => unknown

export interface FakeVault {
  vault: VaultClient
  calls: VaultCall[]
  /** Calls to paths matching `pattern`. */
  count(pattern: RegExp): number
  on(pattern: RegExp, handler: Handler): void
}

export function createFakeVault(): FakeVault {
  const calls: VaultCall[] = []
  const handlers: [RegExp, Handler][] = []
  const vault = (async (method: string, path: string, request: VaultRequest = {}) => {
    const call = { method, path, token: request.token, body: request.body }
    calls.push(call)
    await Promise.resolve()
    const handler = [...handlers].reverse().find(([pattern]) => pattern.test(path))
    if (!handler) throw new AppError(404, 'not_found', 'No secret at this path.')
    return handler[1](call)
  }) as VaultClient
  return {
    vault,
    calls,
    count: (pattern) => calls.filter((call) => pattern.test(call.path)).length,
    on: (pattern, handler) => void handlers.push([pattern, handler]),
  }
}

export const denied = () => {
  throw new AppError(403, 'vault_denied', 'Vault denied access to this secret.')
}

export function createClock(startMs = Date.UTC(2026, 0, 1)) {
  let nowMs = startMs
  return { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) }
}

export async function createTestCache(now: () => number): Promise<SecureCache> {
  return createSecureCache(createMemoryStore(now), await createSealer(undefined), { now })
}

let tokens = 0
/** What `auth/<mount>/login` and `auth/token/renew-self` answer. */
export const authAnswer = (ttlSeconds: number, options: { token?: string; renewable?: boolean } = {}) => ({
  auth: {
    client_token: options.token ?? `s.token${++tokens}`,
    accessor: `accessor-${options.token ?? tokens}`,
    lease_duration: ttlSeconds,
    renewable: options.renewable ?? true,
    policies: ['default'],
  },
})

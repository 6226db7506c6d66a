// Lease ids in audit lines and ids in rate-limit keys are pseudonyms derived from
// CACHE_ENCRYPTION_KEY (src/cache/seal.ts): stable across processes sharing the key, useless to
// anyone without it.
import { describe, expect, it } from 'vitest'
import { createSealer } from '../../src/cache/seal.ts'

const KEY = Buffer.alloc(32, 7).toString('base64')
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64')
const LEASE = 'database/creds/app/Xq1dL3k8uA1bYh2Z3c4V5b6N'

describe('pseudonyms', () => {
  it('are 32 hex digits that do not contain the lease id', async () => {
    const name = await (await createSealer(KEY)).pseudonymFor('lease', LEASE)
    expect(name).toMatch(/^[0-9a-f]{32}$/)
    expect(name).not.toContain('Xq1dL3k8')
  })

  it('are the same in every process with the same key, and differ under another key', async () => {
    const [a, again, other] = await Promise.all([KEY, KEY, OTHER_KEY].map(async (key) => (await createSealer(key)).pseudonymFor('lease', LEASE)))
    expect(again).toBe(a)
    expect(other).not.toBe(a)
  })

  it('differ per purpose: an audit line does not give away a rate-limit key', async () => {
    const sealer = await createSealer(KEY)
    expect(await sealer.pseudonymFor('lease', LEASE)).not.toBe(await sealer.pseudonymFor('rate-limit', LEASE))
  })
})

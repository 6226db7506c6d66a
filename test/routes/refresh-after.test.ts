// X-Refresh-After: when a poller should ask again (src/routes/refresh-after.ts).
import { describe, expect, it } from 'vitest'
import { refreshAfterSeconds, STALE_REFRESH_AFTER_SECONDS } from '../../src/routes/refresh-after.ts'

const NOW = 1_000_000
const IDLE_SECONDS = 900

describe('refreshAfterSeconds', () => {
  it('is the time left until the cached value may change, rounded up', () => {
    expect(refreshAfterSeconds({ cache: 'hit', freshUntilMs: NOW + 59_001, leaseExpiresAtMs: undefined }, NOW, IDLE_SECONDS)).toBe(60)
    expect(refreshAfterSeconds({ cache: 'miss', freshUntilMs: NOW + 30_000, leaseExpiresAtMs: undefined }, NOW, IDLE_SECONDS)).toBe(30)
  })

  it('is at least one second, even for a value that just stopped being fresh', () => {
    expect(refreshAfterSeconds({ cache: 'hit', freshUntilMs: NOW + 10, leaseExpiresAtMs: undefined }, NOW, IDLE_SECONDS)).toBe(1)
    expect(refreshAfterSeconds({ cache: 'hit', freshUntilMs: NOW - 5000, leaseExpiresAtMs: undefined }, NOW, IDLE_SECONDS)).toBe(1)
  })

  it('brings a leased secret back within half the idle time, so polling keeps its lease renewed', () => {
    const leased = { cache: 'hit' as const, freshUntilMs: NOW + 3_600_000, leaseExpiresAtMs: NOW + 3_610_000 }
    expect(refreshAfterSeconds(leased, NOW, IDLE_SECONDS)).toBe(450)
    expect(refreshAfterSeconds({ ...leased, freshUntilMs: NOW + 100_000 }, NOW, IDLE_SECONDS)).toBe(100)
  })

  it('does not send pollers back at once while Vault fails (a stale answer)', () => {
    expect(refreshAfterSeconds({ cache: 'stale', freshUntilMs: NOW - 60_000, leaseExpiresAtMs: undefined }, NOW, IDLE_SECONDS)).toBe(STALE_REFRESH_AFTER_SECONDS)
  })
})

// The audit line's timestamp (src/audit/iso-time.ts) must read exactly as Date#toISOString().
import { describe, expect, it } from 'vitest'
import { isoTime } from '../../src/audit/iso-time.ts'

describe('isoTime', () => {
  it('gives what Date#toISOString gives, across second boundaries, before 1970 and for fractions', () => {
    const times = [0, 1, 999, 1000, 1001, 59_999, 1_764_670_000_000, 1_764_670_000_123, 1_764_670_000_999, 1_764_670_001_000, -1, -999, -1000, -1001, 1_764_670_000_123.9]
    for (let i = 0; i < 2000; i++) times.push(1_764_670_000_000 + Math.floor(Math.random() * 10_000_000))
    for (const ms of times) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString())
  })

  it('gives each later time its own text when the same second comes again after another', () => {
    expect(isoTime(1_764_670_000_100)).toBe('2025-12-02T10:06:40.100Z')
    expect(isoTime(1_764_670_005_000)).toBe('2025-12-02T10:06:45.000Z')
    expect(isoTime(1_764_670_000_200)).toBe('2025-12-02T10:06:40.200Z')
  })
})

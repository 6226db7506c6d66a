// evict-oldest.ts: bounded Maps forget their oldest entries a tenth at a time, so a full Map
// walks over its deleted slots once per tenth of its size, not on every insert.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keptWhenFull, makeRoom, trimOldest } from '../src/evict-oldest.ts'

const mapOf = (keys: number[]) => new Map(keys.map((key) => [key, `v${key}`]))

describe('trimOldest', () => {
  it('keeps the newest entries in their order', () => {
    const map = mapOf([1, 2, 3, 4, 5])
    trimOldest(map, 2)
    expect([...map.keys()]).toEqual([4, 5])
    trimOldest(map, 5)
    expect([...map.keys()]).toEqual([4, 5])
    trimOldest(map, -1)
    expect(map.size).toBe(0)
  })
})

describe('makeRoom', () => {
  it('does nothing below the bound, and drops the oldest tenth at it', () => {
    const map = mapOf([...Array(99).keys()])
    makeRoom(map, 100)
    expect(map.size).toBe(99)
    map.set(99, 'v99')
    makeRoom(map, 100)
    expect(map.size).toBe(90)
    expect(map.has(9)).toBe(false)
    expect(map.has(10)).toBe(true)
  })

  it('never lets a Map pass its bound, and evicts once per tenth of it under steady inserts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2000 }), (maxEntries, inserts) => {
        const map = new Map<number, number>()
        let evictions = 0
        for (let key = 0; key < inserts; key++) {
          const before = map.size
          makeRoom(map, maxEntries)
          if (map.size < before) evictions++
          map.set(key, key)
          expect(map.size).toBeLessThanOrEqual(maxEntries)
        }
        // The newest entry is always kept, and whatever is kept is the newest run of keys.
        if (inserts > 0) expect([...map.keys()]).toEqual([...Array(map.size).keys()].map((i) => inserts - map.size + i))
        const batch = maxEntries - keptWhenFull(maxEntries)
        expect(evictions).toBeLessThanOrEqual(Math.ceil(Math.max(0, inserts - maxEntries) / batch) + 1)
      }),
    )
  })
})

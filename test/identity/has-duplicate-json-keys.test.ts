import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hasDuplicateJsonKeys } from '../../src/identity/has-duplicate-json-keys.ts'

describe('hasDuplicateJsonKeys', () => {
  it('finds none in anything JSON.stringify wrote', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(hasDuplicateJsonKeys(JSON.stringify(value))).toBe(false)
        expect(hasDuplicateJsonKeys(JSON.stringify(value, null, 2))).toBe(false)
      }),
      { numRuns: 500 },
    )
  })

  it('finds a member repeated at any depth, however it is spelled', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1, maxKeys: 5 }),
        fc.jsonValue(),
        fc.nat(3),
        fc.boolean(),
        (object, value, depth, escaped) => {
          const name = Object.keys(object)[0]!
          // Spell the repeated name with every character \u-escaped: still the same name.
          const spelled = escaped
            ? `"${[...name].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(name)
          let text = `${JSON.stringify(object).slice(0, -1)},${spelled}:${JSON.stringify(value)}}`
          for (let level = 0; level < depth; level++) text = level % 2 ? `[1,${text}]` : `{"n${level}":${text}}`
          expect(() => JSON.parse(text)).not.toThrow()
          expect(hasDuplicateJsonKeys(text)).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('tells member names from string values that look like them', () => {
    expect(hasDuplicateJsonKeys('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBe(false)
    expect(hasDuplicateJsonKeys('{"a":"x\\":","a":1}')).toBe(true)
    expect(hasDuplicateJsonKeys('{"k":"\\"a\\":1,\\"a\\":2"}')).toBe(false)
    expect(hasDuplicateJsonKeys('{"alg":"none" , "alg" : "RS256"}')).toBe(true)
  })
})

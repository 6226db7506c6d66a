// parseJsonKeepingNumbers skips the reviver when no number could be respelled: it must give what
// the reviver gives for every text, numbers in any spelling, inside and outside strings.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseJsonKeepingNumbers } from '../../src/vault/lossless-json.ts'

const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON
// The reviver applied to every text, as before the shortcut.
const withReviverAlways = (text: string): unknown =>
  JSON.parse(text, ((_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined && context.source !== JSON.stringify(value) ? rawJson(context.source) : value) as never)

/** Same values, same types, and each kept number text the same. */
const same = (text: string) => {
  const fast = parseJsonKeepingNumbers(text)
  const reference = withReviverAlways(text)
  expect(JSON.stringify(fast)).toBe(JSON.stringify(reference))
  expect(fast).toEqual(reference)
}

// JSON number texts, canonical or not: -0, 1.0, 1e3, 0.5, long integers, 15 and 16 digits.
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,20})$/), fc.option(fc.stringMatching(/^[0-9]{1,5}$/)), fc.option(fc.stringMatching(/^[eE][+-]?[0-9]{1,3}$/)))
    .map(([negative, integer, fraction, exponent]) => `${negative ? '-' : ''}${integer}${fraction === null ? '' : `.${fraction}`}${exponent ?? ''}`),
  fc.constantFrom('-0', '0', '-0.0', '1.0', '1e3', '999999999999999', '9999999999999999', '-999999999999999', '12345678901234567890'),
)
const whitespace = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ')

describe('parseJsonKeepingNumbers', () => {
  it('gives what the reviver gives, for any JSON with numbers in any spelling', () => {
    const value: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        numberText,
        fc.string().map((text) => JSON.stringify(text)),
        numberText.map((text) => JSON.stringify(`:${text},[${text}`)),
        fc.constantFrom('true', 'false', 'null'),
        fc.array(fc.tuple(whitespace, tie('value')), { maxLength: 4 }).map((items) => `[${items.map(([space, item]) => space + item).join(',')}]`),
        fc.array(fc.tuple(fc.string(), whitespace, tie('value')), { maxLength: 4 }).map((members) => `{${members.map(([key, space, item]) => `${JSON.stringify(key)}:${space}${item}`).join(',')}}`),
      ),
    })).value
    fc.assert(fc.property(whitespace, value, (space, text) => same(space + text)), { numRuns: 2000 })
  })

  it('keeps the text of Vault-spelled numbers and answers as Vault sent them', () => {
    for (const text of ['{"a":-0}', '{"a":1.0}', '[1e3]', '12345678901234567890', ' -0', '{"lease_duration":0,"data":{"x":"1.5"}}', '{"version":1,"n":[0, -1, 9999999999999999]}']) same(text)
    expect(JSON.stringify(parseJsonKeepingNumbers('{"a":-0,"b":1.0,"c":0}'))).toBe('{"a":-0,"b":1.0,"c":0}')
  })
})

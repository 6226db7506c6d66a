// Properties of the hand-written Go pieces behind the template functions: RE2 regexps on
// JavaScript's engine, fmt.Sprintf, yaml.v2's emitter. Byte-for-byte agreement with the real
// Agent is test/render/agent-corpus.test.ts; these check what no corpus can enumerate.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { compileGoRegexp, goRegexpMatch, goRegexpReplaceAll } from '../../../src/render/template/go-regexp.ts'
import { goSprintf } from '../../../src/render/template/go-printf.ts'
import { marshalYamlV2 } from '../../../src/render/template/go-yaml.ts'
import { TemplateRuntimeError } from '../../../src/render/template/template-errors.ts'
import { GoNumber } from '../../../src/render/template/values.ts'

describe('RE2 patterns on JavaScript regexps', () => {
  it('keep RE2 semantics where JavaScript differs', () => {
    expect(goRegexpReplaceAll('\\s', '.', 'a\vb c\u00a0d')).toBe('a\vb.c\u00a0d') // RE2's \s is [\t\n\f\r ]
    expect(goRegexpReplaceAll('a*', '-', 'baaac')).toBe('-b-c-') // no empty match right after a match
    expect(goRegexpReplaceAll('(a)(b)', '$1x$2', 'ab')).toBe('b') // $1x is the group named "1x": empty
    expect(goRegexpReplaceAll('(a)(b)', '${1}x$2$$', 'ab')).toBe('axb$')
    expect(goRegexpReplaceAll('(?P<first>\\w+) (?P<second>\\w+)', '$second $first', 'hello world')).toBe('world hello')
    expect(goRegexpMatch('\\Aab\\z', 'ab\n')).toBe(false)
    expect(goRegexpMatch('[[:alpha:]]+\\.\\_', 'abc._')).toBe(true)
    expect(goRegexpMatch('\\x{1F511}', '🔑')).toBe(true)
  })

  it('refuses backreferences, lookaround and nested repetition with a template error', () => {
    for (const pattern of ['(a)\\1', 'a(?=b)', 'a(?!b)', '(?<=a)b', '(a+)+', '(a|b)*', '((ab)*c)+', '(a{2,})*']) {
      expect(() => compileGoRegexp(pattern), pattern).toThrow(TemplateRuntimeError)
    }
  })

  it('either compile or fail with a template error, whatever the pattern (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-c()[\]{}|*+?.\\^$:<>P=!0-9dswDSWpLQEz,-]{0,16}$/), (pattern) => {
        try {
          compileGoRegexp(pattern)
        } catch (error) {
          expect(error).toBeInstanceOf(TemplateRuntimeError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('fmt.Sprintf', () => {
  it('formats every format string without throwing (property)', () => {
    const arg = fc.oneof(fc.string(), fc.integer().map((n) => new GoNumber(n, 'int')), fc.double().map((n) => new GoNumber(n, 'float64')), fc.boolean(), fc.constant(null))
    fc.assert(
      fc.property(fc.stringMatching(/^[%a-zA-Z0-9 +#.*\-!]{0,12}$/), fc.array(arg, { maxLength: 4 }), (format, args) => {
        expect(typeof goSprintf(format, args)).toBe('string')
      }),
      { numRuns: 3000 },
    )
  })
})

describe('toYAML (yaml.v2 Marshal)', () => {
  // Not U+2028 and NEL: yaml.v2 writes them raw in single quotes, which readers disagree on; the
  // corpus test pins that output to the Agent's.
  it('writes text that a YAML reader reads back as the same strings (property)', () => {
    const printable = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', ':', '#', '-', "'", '"', '\\', 'é', '\t', '0', '1', '.', 'y', 'e', '\r', '{', '*', '!', '%') })
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z][a-z_]{0,6}$/), printable, { maxKeys: 5 }), (data) => {
        const text = marshalYamlV2(data)
        if (Object.keys(data).length === 0) {
          expect(text).toBe('{}')
          return
        }
        // consul-template trims the document: leading or trailing whitespace of the last value goes too.
        const read = parseYaml(text, { version: '1.2' }) as Record<string, string>
        for (const [key, value] of Object.entries(data)) {
          const last = key === Object.keys(data).sort().at(-1)
          if (!last) expect(read[key], JSON.stringify({ text, key })).toBe(value)
        }
      }),
      { numRuns: 500 },
    )
  })
})

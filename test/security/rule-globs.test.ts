// Rule globs are matched against paths the caller chooses (up to 512 characters): matching must
// mean what the README says (`*` is any run, `/` included; everything else literal) and cost
// no more than the lengths involved, whatever the operator's pattern.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { matchesGlob, validateSecretPath } from '../../src/rules.ts'

/** The documented meaning, as a regex: the reference the matcher is held to on small inputs. */
const reference = (pattern: string, value: string) =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(value)

describe('rule globs', () => {
  it('match exactly what `*` as "any run of characters" means (property)', () => {
    const text = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((units) => units.join(''))
    fc.assert(
      fc.property(text(['a', 'b', '/', '*', '.', '+', '?', '\\', '\n', 'é']), text(['a', 'b', '/', '*', '.', '+', '\n', 'é']), (pattern, value) => {
        expect(matchesGlob(pattern, value)).toBe(reference(pattern, value))
      }),
      { numRuns: 20_000 },
    )
  })

  it('decides a many-star pattern against the longest path a caller may send in milliseconds', () => {
    const path = validateSecretPath(`secret/${'a/'.repeat(250)}y`)
    for (const pattern of ['secret/*/*/*/*/x', 'secret/*a*a*a*a*a*/x', 'secret/data/*-*-*/config']) {
      const started = performance.now()
      expect(matchesGlob(pattern, path)).toBe(false)
      // As a backtracking regex, the first took 3.6 s.
      expect(performance.now() - started, pattern).toBeLessThan(50)
    }
  })
})

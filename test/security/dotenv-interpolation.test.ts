// format=dotenv refuses values python-dotenv would expand (`${…}`). Secret values can be large and
// written by whoever may write the path, so the check must cost time linear in the value.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hasPythonDotenvInterpolation } from '../../src/render/format-dotenv.ts'
import { renderSecret } from '../../src/render/index.ts'

/** python-dotenv's pattern (dotenv/variables.py, _posix_variable): the reference on small values. */
const PYTHON_DOTENV_PATTERN = /\$\{[^}:]*(?::-[^}]*)?\}/

describe('the python-dotenv interpolation check', () => {
  it('finds exactly what python-dotenv would expand (property)', () => {
    const value = fc.array(fc.constantFrom('$', '{', '}', ':', '-', 'a', '${', ':-'), { maxLength: 16 }).map((parts) => parts.join(''))
    fc.assert(
      fc.property(value, (text) => {
        expect(hasPythonDotenvInterpolation(text), JSON.stringify(text)).toBe(PYTHON_DOTENV_PATTERN.test(text))
      }),
      { numRuns: 50_000 },
    )
  })

  it('renders a megabyte-sized value full of ${ in milliseconds, not minutes', () => {
    for (const unit of ['${', '${:-', '${a:b']) {
      const value = unit.repeat(Math.ceil(1_000_000 / unit.length))
      const started = performance.now()
      const rendered = renderSecret({ big: value }, { format: 'dotenv' })
      expect(rendered.body).toContain('BIG=')
      // python-dotenv's regex took 4.7 s on 160 KB of ${:- and grows with the square of the size:
      // on 1 MB that is minutes. Linear work takes ~20 ms; the bound is loose so a busy machine
      // cannot fail it, and a quadratic check still would.
      expect(performance.now() - started, unit).toBeLessThan(5000)
    }
  })
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { renderSecret } from '../../src/render/index.ts'
import { HOSTILE_VALUES } from './hostile-values.ts'
import { PythonDotenv, TempDir, readWithDotenvNpm } from './readers.ts'
import { errorOf } from '../support/error-of.ts'

const temp = new TempDir()
let python: PythonDotenv
// In a hook, so a missing python-dotenv fails every test here with the install hint.
beforeAll(() => {
  python = new PythonDotenv()
})
afterAll(() => {
  python?.close()
  temp.remove()
})

const renderDotenv = (data: Record<string, unknown>) => renderSecret(data, { format: 'dotenv' }).body as string

/** What each reader gets back from the rendered file, or the AppError when rendering refuses. */
async function readBack(data: Record<string, string>) {
  let text: string
  try {
    text = renderDotenv(data)
  } catch (error) {
    if (error instanceof AppError) return { refused: error }
    throw error
  }
  const file = temp.write(text)
  return { text, npm: readWithDotenvNpm(file), python: await python.read(file) }
}

// The hostile values neither quoting style can carry for both readers (docs/rendering.md).
const REFUSED = new Set([
  'quotes of every kind',
  'shell quote-escape sequence',
  'quote juggling',
  'parameter expansion',
  'default expansion',
  'lone backslash',
  'trailing backslash',
  'double backslash',
  'backslash before single quote',
  'very long (100 KB)',
])

describe('format=dotenv', () => {
  it('writes NAME="value" lines, escaping newlines and carriage returns', () => {
    expect(renderDotenv({ username: 'app', cert: 'a\r\nb' })).toBe('USERNAME="app"\nCERT="a\\r\\nb"\n')
  })

  it('falls back to single quotes for a value with a double quote', () => {
    expect(renderDotenv({ json: '{"a":1}' })).toBe(`JSON='{"a":1}'\n`)
  })

  for (const hostile of HOSTILE_VALUES) {
    const expectation = REFUSED.has(hostile.name) ? 'refuses, naming the key,' : 'round-trips through dotenv (npm) and python-dotenv'
    it(`${expectation}: ${hostile.name}`, async () => {
      const result = await readBack({ 'the-key': hostile.value, after: 'still here' })
      if (REFUSED.has(hostile.name)) {
        expect(result.refused).toMatchObject({ status: 400, code: 'value_unrepresentable' })
        expect(result.refused!.detail).toContain('"the-key"')
        return
      }
      expect(result.refused).toBeUndefined()
      expect(result.npm).toEqual({ THE_KEY: hostile.value, AFTER: 'still here' })
      expect(result.python).toEqual({ THE_KEY: hostile.value, AFTER: 'still here' })
    })
  }

  it('has readers that really disagree on what it refuses (why it refuses)', async () => {
    const quoted = temp.write('A="x\\"y"\nB="C:\\\\new"\nC="${HOME}"\n')
    // npm keeps the backslash of \" and turns the \n of \\n into a newline; python decodes both.
    expect(readWithDotenvNpm(quoted)).toEqual({ A: 'x\\"y', B: 'C:\\' + '\n' + 'ew', C: '${HOME}' })
    const fromPython = await python.read(quoted)
    expect(fromPython.A).toBe('x"y')
    expect(fromPython.B).toBe('C:\\new')
    expect(fromPython.C).not.toBe('${HOME}')
  })

  it('refuses a NUL character, naming the key', () => {
    expect(errorOf(() => renderDotenv({ bin: 'a\0b' }))).toMatchObject({ status: 400, code: 'value_unrepresentable' })
  })

  it('reads back generated values exactly, or refuses them with a 400 (property)', async () => {
    const special = fc.constantFrom("'", '"', '\\', '$', '{', '}', ':', '-', '`', '\n', '\r', ' ', '#', '=', 'n', 'r', 't', 'x', 'é', '\u2028')
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: special, maxLength: 16 }))
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 5 }), async (values) => {
        const data = Object.fromEntries(values.map((v, i) => [`v${i}`, v]))
        const result = await readBack(data)
        if (result.refused) {
          expect(result.refused.code).toBe('value_unrepresentable')
          return
        }
        accepted++
        const expected = Object.fromEntries(values.map((v, i) => [`V${i}`, v]))
        expect(result.npm).toEqual(expected)
        expect(result.python).toEqual(expected)
      }),
      { numRuns: 300 },
    )
    expect(accepted).toBeGreaterThan(100)
  })
})

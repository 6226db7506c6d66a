import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { renderSecret } from '../../src/render/index.ts'
import { HOSTILE_VALUES, YAML_HOSTILE_VALUES } from './hostile-values.ts'
import { PYYAML_HINT, PYYAML_READER, PythonDotenv, TempDir } from './readers.ts'
import { errorOf } from '../support/error-of.ts'

let pyyaml: PythonDotenv
let files: TempDir
beforeAll(() => {
  pyyaml = new PythonDotenv(PYYAML_READER, PYYAML_HINT)
  files = new TempDir()
})
afterAll(() => {
  pyyaml?.close()
  files?.remove()
})

/** PyYAML (YAML 1.1, SafeLoader) reading the output from a file, as a Python app would. */
const readWithPyYaml = (text: string) => pyyaml.read(files.write(text)) as Promise<Record<string, unknown>>
const rawNumber = (text: string) => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text)

const render = (data: Record<string, unknown>, format: 'json' | 'yaml' | 'raw', key?: string | string[]) =>
  renderSecret(data, { format, key }).body as string

const hostileMap = () => Object.fromEntries(HOSTILE_VALUES.map((hostile) => [hostile.name, hostile.value]))

/** YAML 1.2 readers (yaml, yaml.v3) and YAML 1.1 readers (PyYAML, yaml.v2) must agree. */
const readYaml = (text: string) => ({ v12: parseYaml(text, { version: '1.2' }), v11: parseYaml(text, { version: '1.1' }) })

describe('format=json', () => {
  it('is the compact key/value map with a final newline', () => {
    expect(render({ username: 'app', port: 5432, tls: true, extra: { a: [1, null] } }, 'json')).toBe(
      '{"username":"app","port":5432,"tls":true,"extra":{"a":[1,null]}}\n',
    )
  })

  it('round-trips every hostile value and generated JSON (property)', () => {
    expect(JSON.parse(render(hostileMap(), 'json'))).toEqual(hostileMap())
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()), (data) => {
        expect(JSON.parse(render(data, 'json'))).toEqual(JSON.parse(JSON.stringify(data)))
      }),
    )
  })
})

describe('format=yaml', () => {
  it('double-quotes strings, writes multi-line text as a literal block and keeps types', () => {
    expect(render({ username: 'app', port: 5432, on: 'yes', cert: 'line1\nline2\n', none: null }, 'yaml')).toBe(
      'username: "app"\nport: 5432\n"on": "yes"\ncert: |\n  line1\n  line2\nnone: null\n',
    )
  })

  it('reads back every hostile value as the same string in YAML 1.2 and 1.1', () => {
    const { v12, v11 } = readYaml(render(hostileMap(), 'yaml'))
    for (const hostile of HOSTILE_VALUES) {
      expect(v12[hostile.name], hostile.name).toBe(hostile.value)
      expect(v11[hostile.name], hostile.name).toBe(hostile.value)
    }
  })

  it('reads back every hostile value, DEL, C1, NEL, U+2028, noncharacters and leading spaces included, in PyYAML and `yaml`', async () => {
    const values = [...HOSTILE_VALUES, ...YAML_HOSTILE_VALUES]
    const data = Object.fromEntries(values.map((hostile) => [hostile.name, hostile.value]))
    const text = render(data, 'yaml')
    const { v12, v11 } = readYaml(text)
    const python = await readWithPyYaml(text)
    for (const hostile of values) {
      expect(python[hostile.name], `PyYAML: ${hostile.name}`).toBe(hostile.value)
      expect(v11[hostile.name], `yaml 1.1: ${hostile.name}`).toBe(hostile.value)
      expect(v12[hostile.name], `yaml 1.2: ${hostile.name}`).toBe(hostile.value)
    }
    // Raw, these characters make PyYAML refuse the whole document.
    expect(text).not.toMatch(/[\x7f-\x9f\u2028\u2029\ufffe\uffff]/)
  })

  it('writes an indentation indicator on a block whose first line starts with a space', () => {
    expect(render({ cert: '  indented\nnext\n' }, 'yaml')).toBe('cert: |2\n    indented\n  next\n')
    expect(render({ a: { b: ' x\ny' } }, 'yaml')).toBe('a:\n  b: |2-\n     x\n    y\n')
    expect(render({ cert: 'x\n\n' }, 'yaml')).toBe('cert: |+\n  x\n\n')
  })

  it('writes numbers as Vault spelled them (-0, 1.0, big integers), exponents readable as numbers in YAML 1.1', async () => {
    const data = { negativeZero: rawNumber('-0'), one: rawNumber('1.0'), big: rawNumber('12345678901234567890'), exp: rawNumber('1e3'), small: rawNumber('2.5E-7'), port: 5432 }
    const text = render(data, 'yaml')
    expect(text).toBe('negativeZero: -0\none: 1.0\nbig: 12345678901234567890\nexp: 1.0e+3\nsmall: 2.5E-7\nport: 5432\n')
    const python = await readWithPyYaml(text)
    expect(python).toMatchObject({ negativeZero: 0, one: 1, exp: 1000, small: 2.5e-7, port: 5432 })
    expect(typeof python.exp).toBe('number')
    expect(readYaml(text).v11).toMatchObject({ one: 1, exp: 1000, port: 5432 })
    expect(render(data, 'json')).toBe('{"negativeZero":-0,"one":1.0,"big":12345678901234567890,"exp":1e3,"small":2.5E-7,"port":5432}\n')
    expect(renderSecret(data, { format: 'env' }).body).toContain("export NEGATIVEZERO='-0'\nexport ONE='1.0'\n")
  })

  it('round-trips generated strings through PyYAML (property)', async () => {
    const samples = fc.sample(fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary' }), { maxKeys: 8 }), { numRuns: 150, seed: 11 })
    for (const data of samples) {
      const text = render(data, 'yaml')
      expect(await readWithPyYaml(text), text).toEqual(JSON.parse(JSON.stringify(data).replace(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/gi, '\\ufffd')))
    }
  })

  it('keeps keys that YAML 1.1 would read as booleans or numbers as strings', () => {
    const data = Object.fromEntries(['y', 'N', 'yes', 'Off', 'null', '~', '0o17', '010', '1_000', '1:20', '.inf', '<<', '', ' x'].map((k) => [k, k]))
    const { v12, v11 } = readYaml(render(data, 'yaml'))
    expect(v12).toEqual(data)
    expect(v11).toEqual(data)
  })

  it('round-trips generated maps in YAML 1.2 and 1.1 (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 3 })), (data) => {
        // Through JSON on both sides: -0 and 0 are one JSON number.
        const normalize = (value: unknown) => JSON.parse(JSON.stringify(value))
        const { v12, v11 } = readYaml(render(data, 'yaml'))
        expect(normalize(v12)).toEqual(normalize(data))
        expect(normalize(v11)).toEqual(normalize(data))
      }),
      { numRuns: 200 },
    )
  })

  it('writes an empty secret as an empty map', () => {
    expect(render({}, 'yaml')).toBe('{}\n')
  })
})

describe('format=raw', () => {
  it('returns the one value as stored, hostile or not', () => {
    for (const hostile of HOSTILE_VALUES) {
      expect(render({ only: hostile.value }, 'raw'), hostile.name).toBe(hostile.value)
      expect(render({ other: 'x', wanted: hostile.value }, 'raw', 'wanted'), hostile.name).toBe(hostile.value)
    }
  })

  it('encodes non-strings: JSON text for numbers and booleans, compact JSON for objects, empty for null', () => {
    expect(render({ v: 5432 }, 'raw')).toBe('5432')
    expect(render({ v: false }, 'raw')).toBe('false')
    expect(render({ v: { a: ['b', 1] } }, 'raw')).toBe('{"a":["b",1]}')
    expect(render({ v: null }, 'raw')).toBe('')
  })

  it('needs ?key= when the secret has several keys, and lists them', () => {
    const error = errorOf(() => render({ username: 'a', password: 'b' }, 'raw'))
    expect(error).toMatchObject({ status: 400, code: 'key_required' })
    expect(error.detail).toContain('"username", "password"')
    expect(errorOf(() => render({ username: 'a', password: 'b' }, 'raw', ['username', 'password'])).code).toBe('key_required')
  })

  it('is application/octet-stream', () => {
    expect(renderSecret({ a: 'b' }, { format: 'raw' }).contentType).toBe('application/octet-stream')
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { renderSecret } from '../../src/render/index.ts'
import { HOSTILE_VALUES } from './hostile-values.ts'
import { errorOf } from '../support/error-of.ts'

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

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.ts'
import { listSecretPaths, parseTemplate, renderTemplate, type VaultSecretResponse } from '../../../src/render/template/index.ts'
import { DB_CREDS, KV1_APP, KV2_CONFIG } from './fixtures.ts'

// Pieces that make templates, valid or not: delimiters, trim markers, keywords, operands.
const piece = fc.constantFrom(
  '{{', '}}', '{{- ', ' -}}', '{{/*', '*/}}', ' ', '\n', 'text', '.', '.Data', '.data', '.username', '$', '$k', '$v', ':=', '=', ',', '|',
  '(', ')', '"', '"secret/data/a"', '"kv/b"', '`raw`', 'if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template',
  'secret', 'toJSON', 'toJSONPretty', 'base64Decode', 'base64Encode', 'index', 'len', 'eq', 'ne', 'not', 'and', 'or', 'nil', 'true', '3',
  '-3', '1.5', '0x1F', "'", '\\', 'printf', 'pkiCert', '😀',
)

const SECRET_FOR: VaultSecretResponse[] = [KV2_CONFIG, KV1_APP, DB_CREDS]

function secretsFor(paths: string[]): Map<string, VaultSecretResponse> {
  return new Map(paths.map((path, i) => [path, SECRET_FOR[i % SECRET_FOR.length]!]))
}

/** parse, then render with every listed path: an AppError of an expected code, or text. */
function tryTemplate(source: string): string | AppError {
  try {
    const template = parseTemplate(source)
    return renderTemplate(template, secretsFor(listSecretPaths(template)))
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
}

const EXPECTED_CODES = new Set(['template_syntax', 'template_unsupported', 'template_execution', 'too_large'])

describe('template properties', () => {
  it('never throws anything but an AppError with a template code, for generated templates', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const result = tryTemplate(pieces.join(''))
        if (result instanceof AppError) {
          expect(EXPECTED_CODES).toContain(result.code)
          expect(result.status === 400 || result.status === 413).toBe(true)
        } else {
          expect(typeof result).toBe('string')
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('renders generated well-formed templates, or fails with an AppError where Go would', () => {
    const expression = fc.constantFrom(
      '.', '.Data', '.Data.data', '.Data.data.username', '.Data.missing', '.Data.missing.deeper', '$', '$.x', 'secret "secret/data/a"',
      '(secret "kv/b").Data', '"str"', '3', 'true', 'nil', 'len .Data', 'index .Data "data"', 'toJSON .', '.Data | toJSON',
      'toJSONPretty .Data', 'eq . "x"', 'not .', 'and . .Data', 'or .Data.nope "d"', '.LeaseID', '"YQ==" | base64Decode', '.Data.data.port',
    )
    const trim = fc.constantFrom('', '-')
    const open = trim.map((t) => (t ? '{{- ' : '{{ '))
    const close = trim.map((t) => (t ? ' -}}' : ' }}'))
    const text = fc.constantFrom('', 'a', ' ', '\n', 'x=\n  ')
    const { list } = fc.letrec<{ node: string; list: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.tuple(open, expression, close).map(([o, e, c]) => `${o}${e}${c}`),
        fc.tuple(fc.constantFrom('if', 'with', 'range'), expression, tie('list'), fc.option(tie('list'))).map(
          ([keyword, e, body, otherwise]) => `{{ ${keyword} ${e} }}${body}${otherwise === null ? '' : `{{ else }}${otherwise}`}{{ end }}`,
        ),
        fc.tuple(expression, tie('list')).map(([e, body]) => `{{ range $k, $v := ${e} }}${body}{{ $k }}{{ $v }}{{ end }}`),
      ),
      list: fc.array(tie('node'), { maxLength: 4 }).map((nodes) => nodes.join('')),
    }))
    let rendered = 0
    fc.assert(
      fc.property(list, (source) => {
        const result = tryTemplate(source)
        if (result instanceof AppError) expect(['template_execution', 'too_large']).toContain(result.code)
        else rendered++
      }),
      { numRuns: 2000 },
    )
    expect(rendered).toBeGreaterThan(500)
  })

  it('never throws anything but an AppError, for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (source) => {
        const result = tryTemplate(source)
        if (result instanceof AppError) expect(EXPECTED_CODES).toContain(result.code)
      }),
      { numRuns: 2000 },
    )
  })

  it('renders text without "{{" unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).filter((text) => !text.includes('{{')), (text) => {
        expect(tryTemplate(text)).toBe(text)
      }),
    )
  })

  it('trims all spaces, tabs, CRs and newlines on the marked sides, and nothing else', () => {
    const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n'), maxLength: 6 })
    const text = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\u00a0', '\u2028', '\v'), maxLength: 8 })
    fc.assert(
      fc.property(text, whitespace, whitespace, text, fc.boolean(), fc.boolean(), (before, spaceBefore, spaceAfter, after, trimLeft, trimRight) => {
        const source = `${before}${spaceBefore}{{${trimLeft ? '- ' : ' '}"x"${trimRight ? ' -' : ' '}}}${spaceAfter}${after}`
        const left = trimLeft ? (before + spaceBefore).replace(/[ \t\r\n]+$/, '') : before + spaceBefore
        const right = trimRight ? (spaceAfter + after).replace(/^[ \t\r\n]+/, '') : spaceAfter + after
        expect(tryTemplate(source)).toBe(`${left}x${right}`)
      }),
      { numRuns: 500 },
    )
  })

  it('prints any string value from Vault unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const template = parseTemplate('{{ with secret "kv/v" }}{{ .Data.value }}{{ end }}')
        expect(renderTemplate(template, new Map([['kv/v', { data: { value } }]]))).toBe(value)
      }),
    )
  })

  it('round-trips any JSON value through toJSON, and any string through base64Encode | base64Decode', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
        const secrets = new Map([['kv/v', { data: { value, text } }]])
        const json = renderTemplate(parseTemplate('{{ with secret "kv/v" }}{{ .Data.value | toJSON }}{{ end }}'), secrets)
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)))
        const text2 = renderTemplate(parseTemplate('{{ with secret "kv/v" }}{{ .Data.text | base64Encode | base64Decode }}{{ end }}'), secrets)
        expect(text2).toBe(text)
      }),
    )
  })
})

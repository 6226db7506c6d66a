// consul-template's helper functions as Vault Agent registers them (template/funcs.go,
// template/template.go funcMap): strings, collections, encodings, parsing and math. Functions
// that read the broker's environment, disk or network are not here (parser.ts refuses them).
import { md5 } from '@noble/hashes/legacy.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { parse as parseYamlText } from 'yaml'
import { checkDepth, checkIndentSize, fail, fixed, setEntry, float64, int64, intArg, listArg, stringArg, stringSliceArg, type TemplateFunction } from './function-args.ts'
import { marshalJson } from './go-format.ts'
import { goRegexpMatch, goRegexpReplaceAll, regexpWork } from './go-regexp.ts'
import { marshalYamlV2 } from './go-yaml.ts'
import { GoNumber, isJsonNumber, stringSlice, typeName, type GoMap, type GoValue } from './values.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function toBase64(text: string, alphabet: 'std' | 'url'): string {
  let binary = ''
  for (const byte of utf8.encode(text)) binary += String.fromCharCode(byte)
  const encoded = btoa(binary)
  return alphabet === 'url' ? encoded.replaceAll('+', '-').replaceAll('/', '_') : encoded
}

/** base64.StdEncoding / URLEncoding DecodeString: padded, CR and LF ignored (encoding/base64). */
export function fromBase64(name: string, text: string, alphabet: 'std' | 'url'): string {
  const compact = text.replace(/[\r\n]/g, '')
  const valid = alphabet === 'std' ? /^[A-Za-z0-9+/]*={0,2}$/ : /^[A-Za-z0-9\-_]*={0,2}$/
  if (compact.length % 4 !== 0 || !valid.test(compact)) fail(`${name}: illegal base64 data`)
  const standard = alphabet === 'url' ? compact.replaceAll('-', '+').replaceAll('_', '/') : compact
  const bytes = Uint8Array.from(atob(standard), (char) => char.charCodeAt(0))
  try {
    return strictUtf8.decode(bytes)
  } catch {
    // Templates render text; a binary secret belongs in format=raw, decoded by the consumer.
    return fail(`${name}: the decoded bytes are not UTF-8 text, which a vault-edge template cannot output`)
  }
}

/** strings.TrimSpace: Unicode White_Space at both ends. */
export const trimGoSpace = (text: string) => text.replace(/^[\s\u0085]+|[\s\u0085]+$/gu, '')

/** consul-template's `in` (funcs.go): list membership by kind, or substring of a string. */
function isIn(list: GoValue, value: GoValue): boolean {
  if (Array.isArray(list)) {
    return list.some((item) => {
      if (item instanceof GoNumber && value instanceof GoNumber) return item.isFloat === value.isFloat && item.value === value.value
      // A string matches only a string of the same Go type (json.Number is not string).
      if (typeof item === 'string') return typeof value === 'string' && item === value
      if (isJsonNumber(item) && isJsonNumber(value)) return String(item) === String(value)
      return false
    })
  }
  if (typeof list === 'string') return typeof value === 'string' && list.includes(value)
  return false
}

/** containsAll / containsAny / containsNone / containsNotAll (funcs.go, containsSomeFunc). */
const containsSome = (returnTrue: boolean, invert: boolean): TemplateFunction =>
  fixed(2, ([values, list]) => {
    for (const value of listArg(values)) if (isIn(list, value) !== invert) return !returnTrue
    return returnTrue
  })

/** strconv.ParseBool. */
function parseBool(text: string): boolean {
  if (text === '') return false
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return fail(`parseBool: strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`)
}

function parseInteger(name: string, text: string, unsigned: boolean): GoNumber {
  if (text === '') return new GoNumber(0, unsigned ? 'int64' : 'int64')
  if (!(unsigned ? /^\+?[0-9]+$/ : /^[+-]?[0-9]+$/).test(text)) fail(`${name}: strconv.Parse${unsigned ? 'Uint' : 'Int'}: parsing ${JSON.stringify(text)}: invalid syntax`)
  return int64(Number(text))
}

function parseFloat(text: string): GoNumber {
  if (text === '') return float64(0)
  const normalized = text.replaceAll('_', '')
  if (!/^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(normalized)) fail(`parseFloat: strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`)
  const value = /inf/i.test(normalized) ? (normalized.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(normalized) ? NaN : Number(normalized)
  return float64(value)
}

/** json.Unmarshal into interface{}: numbers become float64. */
function fromJsonValue(value: unknown, depth = 0): GoValue {
  checkDepth(depth)
  if (typeof value === 'number') return float64(value)
  if (Array.isArray(value)) return value.map((item) => fromJsonValue(item, depth + 1))
  if (typeof value === 'object' && value !== null) {
    const map: GoMap = {}
    for (const [key, item] of Object.entries(value)) setEntry(map, key, fromJsonValue(item, depth + 1))
    return map
  }
  return value as GoValue
}

function parseJson(text: string): GoValue {
  if (text === '') return {}
  try {
    return fromJsonValue(JSON.parse(text))
  } catch {
    return fail('parseJSON: the text is not valid JSON')
  }
}

/** yaml.v2 Unmarshal into interface{}: YAML 1.1 scalars, ints as int, floats as float64. */
function fromYamlValue(value: unknown, depth = 0): GoValue {
  checkDepth(depth)
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? new GoNumber(value, 'int') : float64(value)
  if (typeof value === 'bigint') return int64(Number(value))
  if (Array.isArray(value)) return value.map((item) => fromYamlValue(item, depth + 1))
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object' && value !== null) {
    const map: GoMap = {}
    for (const [key, item] of Object.entries(value)) setEntry(map, key, fromYamlValue(item, depth + 1))
    return map
  }
  return value as GoValue
}

function parseYaml(text: string): GoValue {
  if (text === '') return {}
  try {
    return fromYamlValue(parseYamlText(text, { version: '1.1', maxAliasCount: 100, uniqueKeys: false }))
  } catch {
    return fail('parseYAML: the text is not valid YAML')
  }
}

/** consul-template's indent: every line that is not empty gets `spaces` spaces in front. */
function indent(spaces: number, text: string): string {
  if (spaces < 0) return fail('indent value must be a positive integer')
  checkIndentSize(spaces, text)
  const prefix = ' '.repeat(spaces)
  let out = ''
  let lineStart = true
  for (const char of text) {
    if (lineStart && char !== '\n') out += prefix
    out += char
    lineStart = char === '\n'
  }
  return out
}

type Operation = 'add' | 'subtract' | 'multiply' | 'divide' | 'modulo' | 'minimum' | 'maximum'

/**
 * consul-template's math (funcs.go): `add b a` is a + b, so `{{ 5 | add 2 }}` is 7; ints give
 * int64, a float on either side float64. json.Number (Vault's numbers) is not a number to them:
 * convert with parseInt / parseFloat first.
 */
function arithmetic(name: Operation): TemplateFunction {
  return fixed(2, ([b, a]) => {
    for (const operand of [a, b]) {
      if (!(operand instanceof GoNumber)) fail(`${name}: unknown type for ${typeName(operand)} value`)
    }
    const left = a as GoNumber
    const right = b as GoNumber
    const float = left.isFloat || right.isFloat
    if (name === 'modulo') {
      if (float) fail(`modulo: unknown type for float64 value`)
      if (right.value === 0) fail('runtime error: integer divide by zero')
      return int64(left.value % right.value)
    }
    if (name === 'minimum' || name === 'maximum') {
      const pickLeft = name === 'minimum' ? left.value < right.value : left.value > right.value
      const chosen = pickLeft ? left : right
      return chosen.isFloat ? float64(chosen.value) : int64(chosen.value)
    }
    const result = name === 'add' ? left.value + right.value : name === 'subtract' ? left.value - right.value : name === 'multiply' ? left.value * right.value : left.value / right.value
    if (float) return float64(result)
    if (name === 'divide') {
      if (right.value === 0) fail('runtime error: integer divide by zero')
      return int64(Math.trunc(result))
    }
    return int64(result)
  })
}

/** cases.Title(language.Und, cases.NoLower): the first letter of each word upper-cased. */
function toTitle(text: string): string {
  // A word's first letter, even after leading digits ("31m" → "31M"); `_` and `'` join words.
  return text.replace(/(^|[^\p{L}\p{M}\p{N}_'’])([\p{N}_]*)(\p{L})/gu, (_, before: string, digits: string, letter: string) => before + digits + letter.toUpperCase())
}

export const CONSUL_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  toJSON: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true })),
  toJSONPretty: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true, indent: '  ' })),
  toUnescapedJSON: fixed(1, ([value]) => marshalJson(value, { escapeHtml: false })),
  toUnescapedJSONPretty: fixed(1, ([value]) => marshalJson(value, { escapeHtml: false, indent: '  ' })),
  toYAML: fixed(1, ([value]) => marshalYamlV2(value)),
  base64Encode: fixed(1, ([value]) => toBase64(stringArg(value), 'std')),
  base64Decode: fixed(1, ([value]) => fromBase64('base64Decode', stringArg(value), 'std')),
  base64URLEncode: fixed(1, ([value]) => toBase64(stringArg(value), 'url')),
  base64URLDecode: fixed(1, ([value]) => fromBase64('base64URLDecode', stringArg(value), 'url')),
  sha256Hex: fixed(1, ([value]) => bytesToHex(sha256(utf8.encode(stringArg(value))))),
  md5sum: fixed(1, ([value]) => bytesToHex(md5(utf8.encode(stringArg(value))))),
  toLower: fixed(1, ([value]) => stringArg(value).toLowerCase()),
  toUpper: fixed(1, ([value]) => stringArg(value).toUpperCase()),
  toTitle: fixed(1, ([value]) => toTitle(stringArg(value))),
  trimSpace: fixed(1, ([value]) => trimGoSpace(stringArg(value))),
  trimPrefix: fixed(2, ([prefix, value]) => {
    const text = stringArg(value)
    const start = stringArg(prefix)
    return text.startsWith(start) ? text.slice(start.length) : text
  }),
  trimSuffix: fixed(2, ([suffix, value]) => {
    const text = stringArg(value)
    const end = stringArg(suffix)
    return end !== '' && text.endsWith(end) ? text.slice(0, -end.length) : text
  }),
  replaceAll: fixed(3, ([from, to, value]) => stringArg(value).split(stringArg(from)).join(stringArg(to))),
  regexReplaceAll: {
    ...fixed(3, ([pattern, replacement, value]) => goRegexpReplaceAll(stringArg(pattern), stringArg(replacement), stringArg(value))),
    cost: ([pattern, , value]) => regexpWork(stringArg(pattern), stringArg(value)),
  },
  regexMatch: { ...fixed(2, ([pattern, value]) => goRegexpMatch(stringArg(pattern), stringArg(value))), cost: ([pattern, value]) => regexpWork(stringArg(pattern), stringArg(value)) },
  contains: fixed(2, ([value, list]) => isIn(list, value)),
  in: fixed(2, ([list, value]) => isIn(list, value)),
  containsAll: containsSome(true, true),
  containsAny: containsSome(false, false),
  containsNone: containsSome(true, false),
  containsNotAll: containsSome(false, true),
  split: fixed(2, ([separator, value]) => {
    const text = trimGoSpace(stringArg(value))
    return stringSlice(text === '' ? [] : goSplit(text, stringArg(separator)))
  }),
  splitToMap: fixed(3, ([first, second, value]) => {
    const text = trimGoSpace(stringArg(value))
    const map: GoMap = {}
    if (text === '') return map
    for (const part of goSplit(text, stringArg(first))) {
      const at = part.indexOf(stringArg(second))
      if (at >= 0) setEntry(map, part.slice(0, at), part.slice(at + stringArg(second).length))
    }
    return map
  }),
  join: fixed(2, ([separator, items]) => stringSliceArg(items).join(stringArg(separator))),
  indent: fixed(2, ([spaces, value]) => indent(intArg(spaces), stringArg(value))),
  parseBool: fixed(1, ([value]) => parseBool(stringArg(value))),
  parseInt: fixed(1, ([value]) => parseInteger('parseInt', stringArg(value), false)),
  parseUint: fixed(1, ([value]) => parseInteger('parseUint', stringArg(value), true)),
  parseFloat: fixed(1, ([value]) => parseFloat(stringArg(value))),
  parseJSON: fixed(1, ([value]) => parseJson(stringArg(value))),
  parseYAML: fixed(1, ([value]) => parseYaml(stringArg(value))),
  add: arithmetic('add'),
  subtract: arithmetic('subtract'),
  multiply: arithmetic('multiply'),
  divide: arithmetic('divide'),
  modulo: arithmetic('modulo'),
  minimum: arithmetic('minimum'),
  maximum: arithmetic('maximum'),
}

/** strings.Split: an empty separator splits into UTF-8 characters. */
export function goSplit(text: string, separator: string): string[] {
  return separator === '' ? [...text] : text.split(separator)
}


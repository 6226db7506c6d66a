// The functions a vault-edge template may call: Go's builtins that Agent templates use in
// conditions and lookups, and consul-template's encoders (template/funcs.go). `secret`, `and`
// and `or` need the evaluator (Vault data, short-circuit) and live there.
import { marshalJson } from './go-format.ts'
import { TemplateRuntimeError } from './template-errors.ts'
import { GoNumber, isMap, isTrue, jsonNumberText, kindOf, typeName, type GoValue } from './values.ts'

export interface TemplateFunction {
  minArgs: number
  maxArgs: number
  call(args: GoValue[]): GoValue
}

const fail = (message: string): never => {
  throw new TemplateRuntimeError(message)
}

/** A Go `string` parameter takes only strings: json.Number and nil are refused (exec.go, validateType). */
function stringArg(value: GoValue): string {
  if (typeof value === 'string') return value
  if (value === undefined) return fail('invalid value; expected string')
  return fail(`wrong type for value; expected string; got ${typeName(value)}`)
}

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function toBase64(text: string, alphabet: 'std' | 'url'): string {
  let binary = ''
  for (const byte of utf8.encode(text)) binary += String.fromCharCode(byte)
  const encoded = btoa(binary)
  return alphabet === 'url' ? encoded.replaceAll('+', '-').replaceAll('/', '_') : encoded
}

/** base64.StdEncoding / URLEncoding DecodeString: padded, CR and LF ignored (encoding/base64). */
function fromBase64(name: string, text: string, alphabet: 'std' | 'url'): string {
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

/** Go's eq (text/template funcs.go): basic kinds compare by value, json.Number as its text. */
function equal(left: GoValue, right: GoValue): boolean {
  const a = left === null ? undefined : left
  const b = right === null ? undefined : right
  const kindA = kindOf(a)
  const kindB = kindOf(b)
  if (kindA !== kindB) {
    if (a !== undefined && b !== undefined) fail('incompatible types for comparison')
    return false
  }
  switch (kindA) {
    case 'invalid':
      return true
    case 'string':
      return comparableText(a) === comparableText(b)
    case 'bool':
      return a === b
    case 'int':
    case 'float':
      return (a as GoNumber).value === (b as GoNumber).value
    case 'struct pointer':
      return a === b
    default:
      return fail(`non-comparable type ${typeName(a)}`)
  }
}

const comparableText = (value: GoValue) => (typeof value === 'number' ? jsonNumberText(value) : (value as string))

function length(value: GoValue): GoNumber {
  if (value === undefined || value === null) return fail('len of nil pointer')
  if (typeof value === 'string') return new GoNumber(utf8.encode(value).length, false)
  if (typeof value === 'number') return new GoNumber(jsonNumberText(value).length, false)
  if (Array.isArray(value)) return new GoNumber(value.length, false)
  if (isMap(value)) return new GoNumber(Object.keys(value).length, false)
  return fail(`len of type ${typeName(value)}`)
}

/** Go's index: maps by string key (a missing key is nil), slices and strings by int. */
function index(item: GoValue, keys: GoValue[]): GoValue {
  let current = item
  for (const key of keys) {
    if (current === undefined || current === null) fail('index of untyped nil')
    if (isMap(current)) {
      if (typeof key !== 'string') fail(`value has type ${typeName(key)}; should be string`)
      current = Object.hasOwn(current, key as string) ? current[key as string] : null
    } else if (Array.isArray(current) || typeof current === 'string') {
      if (!(key instanceof GoNumber) || key.isFloat) fail(`cannot index slice/array with type ${typeName(key)}`)
      const position = (key as GoNumber).value
      // A string indexes its UTF-8 bytes; only the one byte asked for becomes a value.
      const items = Array.isArray(current) ? current : utf8.encode(current)
      if (position < 0 || position >= items.length) fail(`index out of range: ${position}`)
      current = Array.isArray(items) ? items[position] : new GoNumber(items[position]!, false)
    } else {
      fail(`can't index item of type ${typeName(current)}`)
    }
  }
  return current
}

const fixed = (count: number, call: (args: GoValue[]) => GoValue): TemplateFunction => ({ minArgs: count, maxArgs: count, call })

export const FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  // Go builtins (text/template funcs.go)
  not: fixed(1, ([value]) => !isTrue(value)),
  eq: { minArgs: 2, maxArgs: Number.POSITIVE_INFINITY, call: ([first, ...rest]) => rest.some((other) => equal(first, other)) },
  ne: fixed(2, ([a, b]) => !equal(a, b)),
  len: fixed(1, ([value]) => length(value)),
  index: { minArgs: 1, maxArgs: Number.POSITIVE_INFINITY, call: ([item, ...keys]) => index(item, keys) },
  // consul-template (template/funcs.go)
  toJSON: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true })),
  toJSONPretty: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true, indent: '  ' })),
  toUnescapedJSON: fixed(1, ([value]) => marshalJson(value, { escapeHtml: false })),
  toUnescapedJSONPretty: fixed(1, ([value]) => marshalJson(value, { escapeHtml: false, indent: '  ' })),
  base64Encode: fixed(1, ([value]) => toBase64(stringArg(value), 'std')),
  base64Decode: fixed(1, ([value]) => fromBase64('base64Decode', stringArg(value), 'std')),
  base64URLEncode: fixed(1, ([value]) => toBase64(stringArg(value), 'url')),
  base64URLDecode: fixed(1, ([value]) => fromBase64('base64URLDecode', stringArg(value), 'url')),
}

/** Every name a template may call; anything else is template_unsupported. */
export const SUPPORTED_FUNCTIONS: ReadonlySet<string> = new Set(['secret', 'and', 'or', ...Object.keys(FUNCTIONS)])

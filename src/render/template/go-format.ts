// Text of Go values as text/template prints them (fmt.Fprint, "%v") and as encoding/json
// marshals them for toJSON / toJSONPretty (consul-template template/funcs.go).
import { formatFloatV } from './go-float.ts'
import { GoNumber, NilPointer, PemEncoded, SecretValue, isJsonNumber, isMap, jsonNumberText, sortedKeys, type GoValue } from './values.ts'

/** What `{{ value }}` writes. A nil or missing value prints `<no value>` (text/template). */
export function printValue(value: GoValue): string {
  return value === undefined || value === null ? '<no value>' : formatV(value)
}

/** fmt's %v: maps as `map[k:v …]` in key order, slices as `[a b]`, nil inside them as `<nil>`. */
export function formatV(value: GoValue): string {
  if (value === undefined || value === null) return '<nil>'
  if (typeof value === 'string') return value
  if (isJsonNumber(value)) return jsonNumberText(value)
  if (typeof value === 'boolean') return String(value)
  if (value instanceof GoNumber) return value.isFloat ? formatFloatV(value.value) : String(value.value)
  if (value instanceof NilPointer) return '<nil>'
  if (value instanceof PemEncoded) return `{${PemEncoded.FIELDS.map((name) => value.fields[name]).join(' ')}}`
  if (value instanceof SecretValue) {
    const fields = SecretValue.FIELDS.map((name) => formatV(value.field(name)))
    return `&{${fields.join(' ')}}`
  }
  if (Array.isArray(value)) return `[${value.map(formatV).join(' ')}]`
  return `map[${sortedKeys(value)
    .map((key) => `${key}:${formatV(value[key])}`)
    .join(' ')}]`
}

export interface JsonOptions {
  /** json.Marshal escapes <, > and & (the default); json.Encoder.SetEscapeHTML(false) does not. */
  escapeHtml: boolean
  /** json.MarshalIndent(v, "", indent). */
  indent?: string
}

/** encoding/json of a template value: map keys sorted, structs by field name. */
export function marshalJson(value: GoValue, options: JsonOptions, depth = 0): string {
  if (value === undefined || value === null || value instanceof NilPointer) return 'null'
  if (typeof value === 'string') return quoteJsonString(value, options.escapeHtml)
  // json.Number is written as its text; encoding/json writes float64 as JSON.stringify does.
  if (isJsonNumber(value)) return jsonNumberText(value)
  if (typeof value === 'boolean') return String(value)
  // encoding/json writes float64 as JavaScript does (exponent below 1e-6 and from 1e21), -0 included.
  if (value instanceof GoNumber) return Object.is(value.value, -0) ? '-0' : JSON.stringify(value.value)
  if (value instanceof PemEncoded) return marshalEntries(PemEncoded.FIELDS.map((name) => [name, value.fields[name]]), options, depth)
  if (value instanceof SecretValue) {
    const struct: Record<string, GoValue> = {}
    for (const name of SecretValue.FIELDS) struct[name] = name === 'Warnings' ? (value.response.warnings ?? null) : value.field(name)
    return marshalEntries(
      SecretValue.FIELDS.map((name) => [name, struct[name]]),
      options,
      depth,
    )
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const items = value.map((item) => marshalJson(item, options, depth + 1))
    return wrap('[', items, ']', options, depth)
  }
  if (!isMap(value)) return 'null'
  return marshalEntries(
    sortedKeys(value).map((key) => [key, value[key]]),
    options,
    depth,
  )
}

function marshalEntries(entries: Array<[string, GoValue]>, options: JsonOptions, depth: number): string {
  if (entries.length === 0) return '{}'
  const separator = options.indent === undefined ? ':' : ': '
  const items = entries.map(([key, item]) => `${quoteJsonString(key, options.escapeHtml)}${separator}${marshalJson(item, options, depth + 1)}`)
  return wrap('{', items, '}', options, depth)
}

function wrap(open: string, items: string[], close: string, options: JsonOptions, depth: number): string {
  if (options.indent === undefined) return `${open}${items.join(',')}${close}`
  const inner = options.indent.repeat(depth + 1)
  return `${open}\n${items.map((item) => inner + item).join(',\n')}\n${options.indent.repeat(depth)}${close}`
}

const HEX = '0123456789abcdef'

/** encoding/json's string encoding (Go 1.22+: \b and \f have short escapes). */
function quoteJsonString(text: string, escapeHtml: boolean): string {
  let out = '"'
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char === '"' || char === '\\') out += `\\${char}`
    else if (char === '\n') out += '\\n'
    else if (char === '\r') out += '\\r'
    else if (char === '\t') out += '\\t'
    else if (char === '\b') out += '\\b'
    else if (char === '\f') out += '\\f'
    else if (code < 0x20 || (escapeHtml && (char === '<' || char === '>' || char === '&'))) out += `\\u00${HEX[code >> 4]}${HEX[code & 0xf]}`
    // U+2028 and U+2029 end lines in JavaScript source: always escaped.
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`
    // A lone surrogate is not UTF-8: Go writes the replacement character.
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd'
    else out += char
  }
  return `${out}"`
}

// Go's text/template builtins (text/template funcs.go): comparisons, len, index, slice, printf
// and friends, and the html, js and urlquery escapers. `and`, `or` and `call` need the
// evaluator (short-circuit) and live there.
import { fail, fixed, int, variadic, type TemplateFunction } from './function-args.ts'
import { goSprint, goSprintf, goSprintln } from './go-printf.ts'
import { GoNumber, isJsonNumber, isMap, isTrue, jsonNumberText, kindOf, typeName, type GoValue } from './values.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

const textOfStringKind = (value: GoValue) => (typeof value === 'string' ? value : jsonNumberText(value as number))

type BasicKind = 'bool' | 'int' | 'uint' | 'float' | 'string'

function basicKind(value: GoValue): BasicKind | undefined {
  const kind = kindOf(value)
  return kind === 'bool' || kind === 'int' || kind === 'uint' || kind === 'float' || kind === 'string' ? kind : undefined
}

/** Go's eq for one pair (funcs.go, eq): basic kinds by value, int and uint across, json.Number as its text. */
export function goEqual(left: GoValue, right: GoValue): boolean {
  const a = left === null ? undefined : left
  const b = right === null ? undefined : right
  const kindA = basicKind(a)
  const kindB = basicKind(b)
  if (kindA && kindB) {
    if (kindA !== kindB) {
      if ((kindA === 'int' || kindA === 'uint') && (kindB === 'int' || kindB === 'uint')) return (a as GoNumber).value === (b as GoNumber).value
      return fail('incompatible types for comparison')
    }
    if (kindA === 'string') return textOfStringKind(a) === textOfStringKind(b)
    if (kindA === 'bool') return a === b
    return (a as GoNumber).value === (b as GoNumber).value
  }
  if (a === undefined || b === undefined) {
    if (a === undefined && b === undefined) return true
    const other = a === undefined ? b : a
    if (isMap(other) || Array.isArray(other)) return fail('incompatible types for comparison')
    return false
  }
  if (kindOf(a) === 'struct pointer' && kindOf(b) === 'struct pointer') return a === b
  return fail(`non-comparable type ${typeName(isMap(a) || Array.isArray(a) ? a : b)}`)
}

/** Go's lt (funcs.go): ints, uints (mixed too), floats and strings are ordered; bools are not. */
function goLess(left: GoValue, right: GoValue): boolean {
  const kindA = basicKind(left)
  const kindB = basicKind(right)
  if (!kindA || !kindB || kindA === 'bool' || kindB === 'bool') return fail(`invalid type for comparison`)
  if (kindA !== kindB) {
    if ((kindA === 'int' || kindA === 'uint') && (kindB === 'int' || kindB === 'uint')) return (left as GoNumber).value < (right as GoNumber).value
    return fail('incompatible types for comparison')
  }
  if (kindA === 'string') {
    // Go compares strings bytewise (UTF-8), which is code point order.
    const a = textOfStringKind(left)
    const b = textOfStringKind(right)
    return compareUtf8(a, b) < 0
  }
  return (left as GoNumber).value < (right as GoNumber).value
}

function compareUtf8(a: string, b: string): number {
  const left = utf8.encode(a)
  const right = utf8.encode(b)
  for (let i = 0; i < Math.min(left.length, right.length); i++) if (left[i] !== right[i]) return left[i]! - right[i]!
  return left.length - right.length
}

function length(value: GoValue): GoNumber {
  if (value === undefined || value === null) return fail('len of nil pointer')
  if (typeof value === 'string') return int(utf8.encode(value).length)
  if (isJsonNumber(value)) return int(jsonNumberText(value).length)
  if (Array.isArray(value)) return int(value.length)
  if (isMap(value)) return int(Object.keys(value).length)
  return fail(`len of type ${typeName(value)}`)
}

function indexInt(key: GoValue, what: string): number {
  if (!(key instanceof GoNumber) || key.isFloat) return fail(`cannot index ${what} with type ${typeName(key)}`)
  return key.value
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
      const position = indexInt(key, 'slice/array')
      // A string indexes its UTF-8 bytes; only the one byte asked for becomes a value.
      const items = Array.isArray(current) ? current : utf8.encode(current)
      if (position < 0 || position >= items.length) fail(`index out of range: ${position}`)
      current = Array.isArray(items) ? items[position] : new GoNumber(items[position]!, 'uint8')
    } else {
      fail(`can't index item of type ${typeName(current)}`)
    }
  }
  return current
}

/** Go's slice: `slice x 1 2` is x[1:2]; strings by UTF-8 bytes. */
function slice(item: GoValue, indexes: GoValue[]): GoValue {
  if (indexes.length > 3) return fail(`too many slice indexes: ${indexes.length}`)
  if (item === undefined || item === null) return fail('slice of untyped nil')
  const isString = typeof item === 'string'
  if (!isString && !Array.isArray(item)) return fail(`can't slice item of type ${typeName(item)}`)
  if (isString && indexes.length === 3) return fail('cannot 3-index slice a string')
  const bytes = isString ? utf8.encode(item) : undefined
  const size = bytes ? bytes.length : (item as GoValue[]).length
  const bounds = indexes.map((key) => indexInt(key, 'slice'))
  const low = bounds[0] ?? 0
  const high = bounds[1] ?? size
  if (low < 0 || high > size || low > high) return fail(`invalid slice index: ${low} > ${high} or out of range`)
  if (!bytes) return (item as GoValue[]).slice(low, high)
  try {
    return strictUtf8.decode(bytes.slice(low, high))
  } catch {
    return fail('slice cuts a UTF-8 character in two, which a vault-edge template cannot output')
  }
}

/** evalArgs (funcs.go): one string argument as it is, anything else through fmt.Sprint. */
const joinArgs = (args: GoValue[]) => (args.length === 1 && typeof args[0] === 'string' ? args[0] : goSprint(args))

function htmlEscape(text: string): string {
  return text.replace(/[\0"'&<>]/g, (char) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[char]!)
}

/** template.JSEscapeString. */
function jsEscape(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char === '\\' || char === "'" || char === '"') out += `\\${char}`
    else if (char === '<' || char === '>' || char === '&' || char === '=') out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
    else if (code < 0x20 || (code >= 0x80 && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(char))) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
    else out += char
  }
  return out
}

/** url.QueryEscape. */
function queryEscape(text: string): string {
  let out = ''
  for (const byte of utf8.encode(text)) {
    const char = String.fromCharCode(byte)
    if (/[A-Za-z0-9\-_.~]/.test(char)) out += char
    else if (char === ' ') out += '+'
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

const compare = (test: (a: GoValue, b: GoValue) => boolean): TemplateFunction => fixed(2, ([a, b]) => test(a, b))

export const GO_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  not: fixed(1, ([value]) => !isTrue(value)),
  eq: variadic(1, ([first, ...rest]) => {
    if (rest.length === 0) return fail('missing argument for comparison')
    return rest.some((other) => goEqual(first, other))
  }),
  ne: compare((a, b) => !goEqual(a, b)),
  lt: compare((a, b) => goLess(a, b)),
  le: compare((a, b) => goLess(a, b) || goEqual(a, b)),
  gt: compare((a, b) => !goLess(a, b) && !goEqual(a, b)),
  ge: compare((a, b) => !goLess(a, b)),
  len: fixed(1, ([value]) => length(value)),
  index: variadic(1, ([item, ...keys]) => index(item, keys)),
  slice: variadic(1, ([item, ...indexes]) => slice(item, indexes)),
  print: variadic(0, (args) => goSprint(args)),
  println: variadic(0, (args) => goSprintln(args)),
  printf: variadic(1, ([format, ...args]) => {
    if (typeof format !== 'string') return fail(`wrong type for value; expected string; got ${typeName(format)}`)
    return goSprintf(format, args)
  }),
  html: variadic(0, (args) => htmlEscape(joinArgs(args))),
  js: variadic(0, (args) => jsEscape(joinArgs(args))),
  urlquery: variadic(0, (args) => queryEscape(joinArgs(args))),
}


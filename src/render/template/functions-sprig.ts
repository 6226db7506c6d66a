// The common Sprig functions (github.com/Masterminds/sprig/v3, functions.go), which
// consul-template registers with a `sprig_` prefix. Sprig converts loosely (strval, cast.ToInt64)
// and mostly returns a zero value instead of an error; that is kept. Functions reading the
// clock, randomness or the environment are not here (parser.ts refuses them by name).
import { sha1 } from '@noble/hashes/legacy.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { checkIndentSize, fail, fixed, setEntry, float64, int, int64, intArg, mapArg, stringArg, variadic, type TemplateFunction } from './function-args.ts'
import { fromBase64, goSplit, toBase64, trimGoSpace } from './functions-consul.ts'
import { goEqual } from './functions-go.ts'
import { marshalJson } from './go-format.ts'
import { goQuote, goSprintf } from './go-printf.ts'
import { formatV } from './go-format.ts'
import { compileGoRegexp, goRegexpMatch, goRegexpReplaceAll, regexpWork } from './go-regexp.ts'
import { GoNumber, isJsonNumber, isMap, isStringSlice, jsonNumberText, kindOf, sortedKeys, stringSlice, typeName, type GoMap, type GoValue } from './values.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** sprig's strval: strings as they are, json.Number as its text, anything else as %v. */
const strval = (value: GoValue): string => (typeof value === 'string' ? value : value === undefined || value === null ? '<nil>' : formatV(value))

/** cast.ToInt64: numbers truncated, numeric text parsed (base 0), anything else 0. */
function toInt64(value: GoValue): number {
  if (value instanceof GoNumber) return Math.trunc(value.value)
  if (typeof value === 'boolean') return value ? 1 : 0
  const text = typeof value === 'string' ? value : isJsonNumber(value) ? jsonNumberText(value) : undefined
  if (text === undefined) return 0
  const trimmed = text.replace(/\.0*$/, '')
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[1-9][0-9]*|0)$/.test(trimmed)) {
    const negative = trimmed.startsWith('-')
    const digits = trimmed.replace(/^[+-]/, '')
    const parsed = /^0[0-7]+$/.test(digits) ? Number.parseInt(digits, 8) : Number(digits.replace(/^0[oO]/, '0o'))
    return negative ? -parsed : parsed
  }
  return 0
}

function toFloat64(value: GoValue): number {
  if (value instanceof GoNumber) return value.value
  if (typeof value === 'boolean') return value ? 1 : 0
  const text = typeof value === 'string' ? value : isJsonNumber(value) ? jsonNumberText(value) : undefined
  if (text === undefined || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return 0
  return Number(text)
}

/** sprig's empty: nil, zero numbers, false, and empty strings, lists and maps. */
function isEmpty(value: GoValue): boolean {
  if (value === undefined || value === null) return true
  if (typeof value === 'string') return value === ''
  if (isJsonNumber(value)) return false
  if (typeof value === 'boolean') return !value
  if (value instanceof GoNumber) return value.value === 0
  if (Array.isArray(value)) return value.length === 0
  if (isMap(value)) return Object.keys(value).length === 0
  return false
}

function list(value: GoValue, name: string): GoValue[] {
  if (Array.isArray(value)) return value
  return fail(`Cannot find ${name} on type ${typeName(value)}`)
}

/** sprig's strslice: a list's non-nil items as text. */
function strslice(value: GoValue): string[] {
  if (isStringSlice(value)) return value
  if (Array.isArray(value)) return value.filter((item) => item !== undefined && item !== null).map(strval)
  if (value === undefined || value === null) return []
  return [strval(value)]
}

function bytesSlice(text: string, start: number, end: number): string {
  try {
    return strictUtf8.decode(utf8.encode(text).slice(start, end))
  } catch {
    return fail('the slice cuts a UTF-8 character in two, which a vault-edge template cannot output')
  }
}

const byteLength = (text: string) => utf8.encode(text).length

/** strings.Title: letters after a separator (space or punctuation other than `_`) upper-cased. */
const title = (text: string) => text.replace(/(^|[\s!-/:-@[-^`{-~])(\p{L})/gu, (_, before: string, letter: string) => before + letter.toUpperCase())

function kindName(value: GoValue): string {
  const kind = kindOf(value)
  switch (kind) {
    case 'invalid':
    case 'nil':
      return 'invalid'
    case 'float':
      return 'float64'
    case 'uint':
      return 'uint8'
    case 'struct pointer':
    case 'nil pointer':
      return 'ptr'
    default:
      return kind
  }
}

/** reflect.DeepEqual on template values. */
function deepEqual(a: GoValue, b: GoValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return typeName(a) === typeName(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]))
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
  }
  if (typeName(a) !== typeName(b)) return false
  try {
    return goEqual(a, b)
  } catch {
    return false
  }
}

const hex = (hash: (bytes: Uint8Array) => Uint8Array) => fixed(1, ([value]) => bytesToHex(hash(utf8.encode(stringArg(value)))))

function adler32(text: string): number {
  let a = 1
  let b = 0
  for (const byte of utf8.encode(text)) {
    a = (a + byte) % 65521
    b = (b + a) % 65521
  }
  return (b * 65536 + a) >>> 0
}

function roundHalfAwayFromZero(value: number, places: number): number {
  const factor = 10 ** places
  const scaled = Math.abs(value) * factor
  const rounded = scaled - Math.floor(scaled) >= 0.5 ? Math.ceil(scaled) : Math.floor(scaled)
  return (Math.sign(value) * rounded) / factor
}

export const SPRIG_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  // strings
  upper: fixed(1, ([s]) => stringArg(s).toUpperCase()),
  lower: fixed(1, ([s]) => stringArg(s).toLowerCase()),
  title: fixed(1, ([s]) => title(stringArg(s))),
  trim: fixed(1, ([s]) => trimGoSpace(stringArg(s))),
  trimAll: fixed(2, ([cutset, s]) => {
    const cut = new Set(stringArg(cutset))
    const chars = [...stringArg(s)]
    let start = 0
    let end = chars.length
    while (start < end && cut.has(chars[start]!)) start++
    while (end > start && cut.has(chars[end - 1]!)) end--
    return chars.slice(start, end).join('')
  }),
  trimPrefix: fixed(2, ([prefix, s]) => (stringArg(s).startsWith(stringArg(prefix)) ? stringArg(s).slice(stringArg(prefix).length) : stringArg(s))),
  trimSuffix: fixed(2, ([suffix, s]) => (stringArg(suffix) !== '' && stringArg(s).endsWith(stringArg(suffix)) ? stringArg(s).slice(0, -stringArg(suffix).length) : stringArg(s))),
  // goutils.DeleteWhiteSpace works on bytes: it drops ASCII spaces and the bytes 0x85 and 0xA0,
  // and turns every other byte into the character with that number (non-ASCII text comes out as
  // Latin-1 mojibake, exactly as in Vault Agent) — unless it dropped nothing: then the text is kept.
  nospace: fixed(1, ([s]) => {
    const bytes = utf8.encode(stringArg(s))
    let out = ''
    let kept = 0
    for (const byte of bytes) {
      if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0x85 || byte === 0xa0) continue
      out += String.fromCharCode(byte)
      kept++
    }
    return kept === bytes.length ? stringArg(s) : out
  }),
  repeat: fixed(2, ([count, s]) => {
    const times = intArg(count)
    if (times < 0) fail('strings: negative Repeat count')
    if (times * stringArg(s).length > 1024 * 1024) fail('repeat: the result would be longer than 1 MiB')
    return stringArg(s).repeat(times)
  }),
  substr: fixed(3, ([start, end, s]) => {
    const text = stringArg(s)
    const from = intArg(start)
    const to = intArg(end)
    if (from < 0) return bytesSlice(text, 0, to)
    if (to < 0 || to > byteLength(text)) return bytesSlice(text, from, byteLength(text))
    return bytesSlice(text, from, to)
  }),
  trunc: fixed(2, ([count, s]) => {
    const text = stringArg(s)
    const c = intArg(count)
    const length = byteLength(text)
    if (c < 0 && length + c > 0) return bytesSlice(text, length + c, length)
    if (c >= 0 && length > c) return bytesSlice(text, 0, c)
    return text
  }),
  abbrev: fixed(2, ([width, s]) => {
    const text = stringArg(s)
    const w = intArg(width)
    if (w < 4 || [...text].length <= w) return text
    return `${[...text].slice(0, w - 3).join('')}...`
  }),
  contains: fixed(2, ([substr, s]) => stringArg(s).includes(stringArg(substr))),
  hasPrefix: fixed(2, ([prefix, s]) => stringArg(s).startsWith(stringArg(prefix))),
  hasSuffix: fixed(2, ([suffix, s]) => stringArg(s).endsWith(stringArg(suffix))),
  quote: variadic(0, (args) => args.filter((arg) => arg !== undefined && arg !== null).map((arg) => goQuote(strval(arg), false)).join(' ')),
  squote: variadic(0, (args) => args.filter((arg) => arg !== undefined && arg !== null).map((arg) => `'${strval(arg)}'`).join(' ')),
  cat: variadic(0, (args) => {
    const present = args.filter((arg) => arg !== undefined && arg !== null)
    return goSprintf(present.map(() => '%v').join(' '), present)
  }),
  indent: fixed(2, ([spaces, s]) => {
    checkIndentSize(intArg(spaces), stringArg(s))
    const pad = ' '.repeat(Math.max(0, intArg(spaces)))
    return pad + stringArg(s).replaceAll('\n', `\n${pad}`)
  }),
  nindent: fixed(2, ([spaces, s]) => {
    checkIndentSize(intArg(spaces), stringArg(s))
    const pad = ' '.repeat(Math.max(0, intArg(spaces)))
    return `\n${pad}${stringArg(s).replaceAll('\n', `\n${pad}`)}`
  }),
  replace: fixed(3, ([from, to, s]) => stringArg(s).split(stringArg(from)).join(stringArg(to))),
  plural: fixed(3, ([one, many, count]) => (intArg(count) === 1 ? stringArg(one) : stringArg(many))),
  split: fixed(2, ([separator, s]) => Object.fromEntries(goSplit(stringArg(s), stringArg(separator)).map((part, i) => [`_${i}`, part]))),
  splitList: fixed(2, ([separator, s]) => stringSlice(goSplit(stringArg(s), stringArg(separator)))),
  join: fixed(2, ([separator, items]) => strslice(items).join(stringArg(separator))),
  toString: fixed(1, ([value]) => strval(value)),
  toStrings: fixed(1, ([value]) => stringSlice(strslice(value))),
  // conversions and defaults
  atoi: fixed(1, ([s]) => {
    const text = stringArg(s)
    return int(/^[+-]?[0-9]+$/.test(text) ? Number(text) : 0)
  }),
  int: fixed(1, ([value]) => int(toInt64(value))),
  int64: fixed(1, ([value]) => int64(toInt64(value))),
  float64: fixed(1, ([value]) => float64(toFloat64(value))),
  default: variadic(1, ([fallback, ...given]) => (given.length === 0 || isEmpty(given[0]) ? fallback : given[0]), 2),
  empty: fixed(1, ([value]) => isEmpty(value)),
  coalesce: variadic(0, (args) => args.find((arg) => !isEmpty(arg)) ?? null),
  all: variadic(0, (args) => args.every((arg) => !isEmpty(arg))),
  any: variadic(0, (args) => args.some((arg) => !isEmpty(arg))),
  ternary: fixed(3, ([whenTrue, whenFalse, condition]) => (typeof condition === 'boolean' ? (condition ? whenTrue : whenFalse) : fail(`wrong type for value; expected bool; got ${typeName(condition)}`))),
  // lists
  list: variadic(0, (args) => [...args.map((arg) => (arg === undefined ? null : arg))]),
  first: fixed(1, ([items]) => list(items, 'first')[0] ?? null),
  last: fixed(1, ([items]) => list(items, 'last').at(-1) ?? null),
  rest: fixed(1, ([items]) => list(items, 'rest').slice(1)),
  initial: fixed(1, ([items]) => list(items, 'initial').slice(0, -1)),
  reverse: fixed(1, ([items]) => [...list(items, 'reverse')].reverse()),
  uniq: fixed(1, ([items]) => list(items, 'uniq').filter((item, i, all) => all.findIndex((other) => deepEqual(other, item)) === i)),
  compact: fixed(1, ([items]) => list(items, 'compact').filter((item) => !isEmpty(item))),
  has: fixed(2, ([needle, items]) => (items === undefined || items === null ? false : list(items, 'has').some((item) => deepEqual(item, needle)))),
  without: variadic(1, ([items, ...omit]) => list(items, 'without').filter((item) => !omit.some((other) => deepEqual(other, item)))),
  append: fixed(2, ([items, value]) => [...list(items, 'append'), value ?? null]),
  prepend: fixed(2, ([items, value]) => [value ?? null, ...list(items, 'prepend')]),
  concat: variadic(0, (lists) => lists.flatMap((items) => list(items, 'concat'))),
  chunk: fixed(2, ([size, items]) => {
    const n = intArg(size)
    if (n <= 0) fail('chunk: the size must be positive')
    const all = list(items, 'chunk')
    const chunks: GoValue[] = []
    for (let i = 0; i < all.length; i += n) chunks.push(all.slice(i, i + n))
    return chunks
  }),
  slice: variadic(1, ([items, ...bounds]) => {
    const all = list(items, 'slice')
    const [start, end] = bounds.map(toInt64)
    return all.slice(start ?? 0, end ?? all.length)
  }, 3),
  sortAlpha: fixed(1, ([items]) => stringSlice([...strslice(items)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))),
  until: fixed(1, ([count]) => {
    const n = intArg(count)
    if (Math.abs(n) > 100_000) fail('until: at most 100000 items')
    return Array.from({ length: Math.abs(n) }, (_, i) => int(n < 0 ? -i : i))
  }),
  // dictionaries
  dict: variadic(0, (args) => {
    const map: GoMap = {}
    for (let i = 0; i < args.length; i += 2) setEntry(map, strval(args[i]), i + 1 < args.length ? (args[i + 1] ?? null) : '')
    return map
  }),
  get: fixed(2, ([map, key]) => {
    const dict = mapArg(map)
    return Object.hasOwn(dict, stringArg(key)) ? (dict[stringArg(key)] ?? null) : ''
  }),
  set: fixed(3, ([map, key, value]) => {
    const dict = mapArg(map)
    setEntry(dict, stringArg(key), value ?? null)
    return dict
  }),
  unset: fixed(2, ([map, key]) => {
    const dict = mapArg(map)
    delete dict[stringArg(key)]
    return dict
  }),
  hasKey: fixed(2, ([map, key]) => Object.hasOwn(mapArg(map), stringArg(key))),
  keys: variadic(0, (maps) => stringSlice(maps.flatMap((map) => sortedKeys(mapArg(map))))),
  values: fixed(1, ([map]) => sortedKeys(mapArg(map)).map((key) => mapArg(map)[key] ?? null)),
  pluck: variadic(1, ([key, ...maps]) => maps.map(mapArg).filter((map) => Object.hasOwn(map, stringArg(key))).map((map) => map[stringArg(key)] ?? null)),
  pick: variadic(1, ([map, ...keys]) => {
    const dict = mapArg(map)
    return Object.fromEntries(keys.map((key) => stringArg(key)).filter((key) => Object.hasOwn(dict, key)).map((key) => [key, dict[key]]))
  }),
  omit: variadic(1, ([map, ...keys]) => {
    const dict = mapArg(map)
    const drop = new Set(keys.map((key) => stringArg(key)))
    return Object.fromEntries(Object.entries(dict).filter(([key]) => !drop.has(key)))
  }),
  dig: variadic(2, (args) => {
    const map = mapArg(args.at(-1))
    const fallback = args.at(-2)
    let current: GoValue = map
    for (const key of args.slice(0, -2)) {
      if (!isMap(current) || !Object.hasOwn(current, stringArg(key))) return fallback
      current = current[stringArg(key)]
    }
    return current
  }),
  // math (int64 through cast.ToInt64)
  add: variadic(0, (args) => int64(args.reduce<number>((sum, arg) => sum + toInt64(arg), 0))),
  add1: fixed(1, ([value]) => int64(toInt64(value) + 1)),
  sub: fixed(2, ([a, b]) => int64(toInt64(a) - toInt64(b))),
  mul: variadic(1, (args) => int64(args.reduce<number>((product, arg) => product * toInt64(arg), 1))),
  div: fixed(2, ([a, b]) => (toInt64(b) === 0 ? fail('runtime error: integer divide by zero') : int64(Math.trunc(toInt64(a) / toInt64(b))))),
  mod: fixed(2, ([a, b]) => (toInt64(b) === 0 ? fail('runtime error: integer divide by zero') : int64(toInt64(a) % toInt64(b)))),
  max: variadic(1, (args) => int64(Math.max(...args.map(toInt64)))),
  min: variadic(1, (args) => int64(Math.min(...args.map(toInt64)))),
  floor: fixed(1, ([value]) => float64(Math.floor(toFloat64(value)))),
  ceil: fixed(1, ([value]) => float64(Math.ceil(toFloat64(value)))),
  round: variadic(2, ([value, places]) => float64(roundHalfAwayFromZero(toFloat64(value), toInt64(places))), 3),
  // encodings and hashes
  b64enc: fixed(1, ([s]) => toBase64(stringArg(s), 'std')),
  b64dec: fixed(1, ([s]) => fromBase64('b64dec', stringArg(s), 'std')),
  sha1sum: hex(sha1),
  sha256sum: hex(sha256),
  sha512sum: hex(sha512),
  adler32sum: fixed(1, ([s]) => String(adler32(stringArg(s)))),
  toJson: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true })),
  toPrettyJson: fixed(1, ([value]) => marshalJson(value, { escapeHtml: true, indent: '  ' })),
  toRawJson: fixed(1, ([value]) => marshalJson(value, { escapeHtml: false })),
  // regular expressions (sprig's argument order: the pattern first, then the text)
  regexMatch: { ...fixed(2, ([pattern, s]) => goRegexpMatch(stringArg(pattern), stringArg(s))), cost: ([pattern, s]) => regexpWork(stringArg(pattern), stringArg(s)) },
  regexFind: {
    cost: ([pattern, s]) => regexpWork(stringArg(pattern), stringArg(s)),
    ...fixed(2, ([pattern, s]) => {
    goRegexpMatch(stringArg(pattern), stringArg(s))
    const { regexp } = compileGoRegexp(stringArg(pattern))
    regexp.lastIndex = 0
    return regexp.exec(stringArg(s))?.[0] ?? ''
  }),
  },
  regexReplaceAll: {
    ...fixed(3, ([pattern, s, replacement]) => goRegexpReplaceAll(stringArg(pattern), stringArg(replacement), stringArg(s))),
    cost: ([pattern, s]) => regexpWork(stringArg(pattern), stringArg(s)),
  },
  // types
  kindOf: fixed(1, ([value]) => kindName(value)),
  typeOf: fixed(1, ([value]) => (value === undefined || value === null ? '<nil>' : typeName(value))),
  kindIs: fixed(2, ([kind, value]) => stringArg(kind) === kindName(value)),
  typeIs: fixed(2, ([type, value]) => stringArg(type) === (value === undefined || value === null ? '<nil>' : typeName(value))),
  deepEqual: fixed(2, ([a, b]) => deepEqual(a, b)),
}

// Go's fmt.Sprintf, Sprint and Sprintln (pkg.go.dev/fmt) over template values, for the
// builtins printf, print and println: the verbs %v %s %q %d %b %o %O %x %X %c %U %e %E %f %F
// %g %G %t %T %%, the flags + - # space 0, width and precision (also `*`), and fmt's in-band
// errors: %!d(string=x), %!v(MISSING), %!(EXTRA int=2), %!(NOVERB), %!(BADWIDTH).
import { formatGoFloat } from './go-float.ts'
import { formatV } from './go-format.ts'
import { GoNumber, isJsonNumber, isMap, jsonNumberText, sortedKeys, typeName, type GoValue } from './values.ts'

interface Spec {
  plus: boolean
  minus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  width: number | undefined
  precision: number | undefined
}

const utf8 = new TextEncoder()
const HEX = '0123456789abcdef'

const isNil = (value: GoValue) => value === undefined || value === null
/** A string in fmt's sense: reflect.Kind String, which json.Number is too. */
const isStringKind = (value: GoValue): boolean => typeof value === 'string' || isJsonNumber(value)
const stringText = (value: GoValue): string => (typeof value === 'string' ? value : jsonNumberText(value as number))

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function goSprint(args: readonly GoValue[]): string {
  let out = ''
  args.forEach((arg, i) => {
    if (i > 0 && !isStringKind(arg) && !isStringKind(args[i - 1])) out += ' '
    out += isNil(arg) ? '<nil>' : formatV(arg)
  })
  return out
}

/** fmt.Sprintln: always a space between operands, and a final newline. */
export const goSprintln = (args: readonly GoValue[]): string => `${args.map((arg) => (isNil(arg) ? '<nil>' : formatV(arg))).join(' ')}\n`

export function goSprintf(format: string, args: readonly GoValue[]): string {
  let out = ''
  let argIndex = 0
  let i = 0
  while (i < format.length) {
    const percent = format.indexOf('%', i)
    if (percent < 0) {
      out += format.slice(i)
      break
    }
    out += format.slice(i, percent)
    i = percent + 1
    const spec: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false, width: undefined, precision: undefined }
    for (; i < format.length; i++) {
      const flag = format[i]
      if (flag === '+') spec.plus = true
      else if (flag === '-') spec.minus = true
      else if (flag === '#') spec.sharp = true
      else if (flag === ' ') spec.space = true
      else if (flag === '0') spec.zero = true
      else break
    }
    let badWidth = false
    if (format[i] === '*') {
      i++
      const arg = args[argIndex++]
      if (arg instanceof GoNumber && !arg.isFloat && Math.abs(arg.value) <= 1e6) {
        spec.width = Math.abs(arg.value)
        if (arg.value < 0) spec.minus = true
      } else badWidth = true
    } else {
      const width = /^[0-9]+/.exec(format.slice(i))?.[0]
      if (width) {
        // fmt refuses widths and precisions above 10^6 (print.go, tooLarge).
        if (Number(width) > 1e6) badWidth = true
        else spec.width = Number(width)
        i += width.length
      }
    }
    if (badWidth) out += '%!(BADWIDTH)'
    let badPrecision = false
    if (format[i] === '.') {
      i++
      if (format[i] === '*') {
        i++
        const arg = args[argIndex++]
        if (arg instanceof GoNumber && !arg.isFloat && arg.value >= 0 && arg.value <= 1e6) spec.precision = arg.value
        else badPrecision = true
      } else {
        const precision = /^[0-9]*/.exec(format.slice(i))![0]
        if (Number(precision) > 1e6) badPrecision = true
        else spec.precision = precision === '' ? 0 : Number(precision)
        i += precision.length
      }
    }
    if (badPrecision) out += '%!(BADPREC)'
    if (spec.minus) spec.zero = false
    if (i >= format.length) {
      out += '%!(NOVERB)'
      break
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!)
    i += verb.length
    if (verb === '%') {
      out += '%'
      continue
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`
      continue
    }
    out += formatArg(args[argIndex++], verb, spec)
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args
      .slice(argIndex)
      .map((arg) => (isNil(arg) ? '<nil>' : `${typeName(arg)}=${formatV(arg)}`))
      .join(', ')})`
  }
  return out
}

function badVerb(value: GoValue, verb: string): string {
  return isNil(value) ? `%!${verb}(<nil>)` : `%!${verb}(${typeName(value)}=${formatV(value)})`
}

function pad(text: string, spec: Spec, zeroAllowed = false): string {
  const length = [...text].length
  if (spec.width === undefined || length >= spec.width) return text
  const fill = spec.width - length
  if (spec.minus) return text + ' '.repeat(fill)
  if (spec.zero && zeroAllowed) {
    const signLength = /^[+\- ]/.test(text) ? 1 : 0
    return text.slice(0, signLength) + '0'.repeat(fill) + text.slice(signLength)
  }
  return ' '.repeat(fill) + text
}

function formatArg(value: GoValue, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(isNil(value) ? '<nil>' : typeName(value), spec)
  if (isNil(value)) return verb === 'v' ? pad('<nil>', spec) : badVerb(value, verb)
  if (typeof value === 'boolean') return verb === 'v' || verb === 't' ? pad(String(value), spec) : badVerb(value, verb)
  if (isStringKind(value)) return formatString(stringText(value), value, verb, spec)
  if (value instanceof GoNumber) return value.isFloat ? formatFloat(value, verb, spec) : formatInteger(value, verb, spec)
  if (Array.isArray(value)) {
    if (verb === 'v' && (spec.plus || spec.sharp)) return pad(formatV(value), spec)
    return `[${value.map((item) => formatArg(item, verb, spec)).join(' ')}]`
  }
  if (isMap(value)) return `map[${sortedKeys(value).map((key) => `${formatArg(key, verb, spec)}:${formatArg(value[key], verb, spec)}`).join(' ')}]`
  return verb === 'v' || verb === 's' ? pad(formatV(value), spec) : badVerb(value, verb)
}

function formatString(text: string, original: GoValue, verb: string, spec: Spec): string {
  const limited = spec.precision === undefined ? text : [...text].slice(0, spec.precision).join('')
  switch (verb) {
    case 'v':
      if (spec.sharp) return pad(goQuote(text, false), spec)
      return pad(limited, spec)
    case 's':
      return pad(limited, spec)
    case 'q':
      if (spec.sharp && canBackquote(limited)) return pad(`\`${limited}\``, spec)
      return pad(goQuote(limited, spec.plus), spec)
    case 'x':
    case 'X': {
      let bytes = [...utf8.encode(text)]
      if (spec.precision !== undefined) bytes = bytes.slice(0, spec.precision)
      const digits = (byte: number) => {
        const pair = HEX[byte >> 4]! + HEX[byte & 15]!
        return verb === 'X' ? pair.toUpperCase() : pair
      }
      const prefix = spec.sharp ? (verb === 'X' ? '0X' : '0x') : ''
      const text2 = spec.space ? bytes.map((byte) => prefix + digits(byte)).join(' ') : prefix + bytes.map(digits).join('')
      return pad(text2, spec)
    }
    default:
      return badVerb(original, verb)
  }
}

function formatInteger(number: GoNumber, verb: string, spec: Spec): string {
  const value = number.value
  const abs = Math.abs(value)
  const signText = value < 0 ? '-' : spec.plus ? '+' : spec.space ? ' ' : ''
  const digitsOf = (radix: number) => {
    let digits = abs.toString(radix)
    if (spec.precision !== undefined) digits = spec.precision === 0 && abs === 0 ? '' : digits.padStart(spec.precision, '0')
    return digits
  }
  const zeroAllowed = spec.precision === undefined
  switch (verb) {
    case 'v':
    case 'd':
      return pad(signText + digitsOf(10), spec, zeroAllowed)
    case 'b':
      return pad(signText + (spec.sharp ? '0b' : '') + digitsOf(2), spec, zeroAllowed)
    case 'o':
      return pad(signText + (spec.sharp ? '0' : '') + digitsOf(8), spec, zeroAllowed)
    case 'O':
      return pad(`${signText}0o${digitsOf(8)}`, spec, zeroAllowed)
    case 'x':
      return pad(signText + (spec.sharp ? '0x' : '') + digitsOf(16), spec, zeroAllowed)
    case 'X':
      return pad(signText + (spec.sharp ? '0X' : '') + digitsOf(16).toUpperCase(), spec, zeroAllowed)
    case 'c':
      return pad(runeText(value), spec)
    case 'q':
      return pad(quoteRune(value, spec.plus), spec)
    case 'U': {
      const text = `U+${abs.toString(16).toUpperCase().padStart(Math.max(4, spec.precision ?? 0), '0')}`
      return pad(spec.sharp && isPrintable(runeText(value)) ? `${text} '${runeText(value)}'` : text, spec)
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return `%!${verb}(${number.type}=${value})`
    default:
      return badVerb(number, verb)
  }
}

function formatFloat(number: GoNumber, verb: string, spec: Spec): string {
  const value = number.value
  const floatVerb = verb === 'v' ? 'g' : verb
  if (!'eEfFgG'.includes(floatVerb)) return badVerb(number, verb)
  const precision = spec.precision ?? (floatVerb === 'g' || floatVerb === 'G' ? -1 : 6)
  let text = formatGoFloat(value, floatVerb as 'e' | 'E' | 'f' | 'F' | 'g' | 'G', precision)
  if (!text.startsWith('-') && !text.startsWith('+')) text = (spec.plus ? '+' : spec.space ? ' ' : '') + text
  else if (text === '+Inf' && !spec.plus) text = spec.space ? ' Inf' : 'Inf'
  return pad(text, spec, Number.isFinite(value))
}

const runeText = (code: number): string => (code >= 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd')

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const isPrintable = (char: string) => char === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(char)

function escapeRune(char: string, quote: string, asciiOnly: boolean): string {
  const code = char.codePointAt(0)!
  if (char === quote || char === '\\') return `\\${char}`
  if (isPrintable(char) && (!asciiOnly || code < 0x80)) return char
  switch (char) {
    case '\x07':
      return '\\a'
    case '\b':
      return '\\b'
    case '\f':
      return '\\f'
    case '\n':
      return '\\n'
    case '\r':
      return '\\r'
    case '\t':
      return '\\t'
    case '\v':
      return '\\v'
  }
  if (code < 0x20 || code === 0x7f) return `\\x${HEX[code >> 4]}${HEX[code & 15]}`
  if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd'
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`
  return `\\U${code.toString(16).padStart(8, '0')}`
}

/** strconv.Quote (or QuoteToASCII). */
export function goQuote(text: string, asciiOnly: boolean): string {
  let out = '"'
  for (const char of text) out += escapeRune(char, '"', asciiOnly)
  return `${out}"`
}

const quoteRune = (code: number, asciiOnly: boolean) => `'${escapeRune(runeText(code), "'", asciiOnly)}'`

/** strconv.CanBackquote: no backquote, no control character other than tab. */
const canBackquote = (text: string) => !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(text)

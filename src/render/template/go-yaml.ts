// consul-template's toYAML is gopkg.in/yaml.v2's Marshal, trimmed. Its output is libyaml's
// emitter (yaml.v2 emitterc.go): a scalar style is chosen per string (plain, single-quoted,
// double-quoted, literal block) from an analysis of its characters, long lines fold at spaces
// past column 80, and map keys sort "naturally" (sorter.go). Ported here (no JavaScript YAML
// library writes yaml.v2's exact bytes) so that toYAML output matches the Agent's byte for byte.
import { formatGoFloat } from './go-float.ts'
import { GoNumber, NilPointer, SecretValue, isJsonNumber, isMap, jsonNumberText, type GoValue } from './values.ts'

const BEST_WIDTH = 80
const BEST_INDENT = 2

const isBreak = (char: string | undefined) => char === '\r' || char === '\n' || char === '\u0085' || char === '\u2028' || char === '\u2029'
const isBlankOrEnd = (char: string | undefined) => char === undefined || char === ' ' || char === '\t' || isBreak(char)

/** libyaml's is_printable (with unicode output on): no C0/C1 controls but LF, no BOM, nothing beyond the BMP. */
function isPrintable(char: string): boolean {
  const code = char.codePointAt(0)!
  if (code === 0x0a) return true
  if (code >= 0x20 && code <= 0x7e) return true
  if (code >= 0xa0 && code <= 0xd7ff) return true
  if (code >= 0xe000 && code <= 0xfffd) return code !== 0xfeff
  return false
}

interface Analysis {
  multiline: boolean
  flowPlainAllowed: boolean
  blockPlainAllowed: boolean
  singleQuotedAllowed: boolean
  blockAllowed: boolean
}

/** yaml_emitter_analyze_scalar. */
function analyze(value: string): Analysis {
  if (value === '') return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false }
  const chars = [...value]
  let flowIndicators = false
  let blockIndicators = false
  let specialCharacters = false
  let lineBreaks = false
  let leadingSpace = false
  let leadingBreak = false
  let trailingSpace = false
  let trailingBreak = false
  let breakSpace = false
  let spaceBreak = false
  let previousSpace = false
  let previousBreak = false
  if (value.startsWith('---') || value.startsWith('...')) {
    blockIndicators = true
    flowIndicators = true
  }
  let precededByWhitespace = true
  chars.forEach((char, i) => {
    const followedByWhitespace = isBlankOrEnd(chars[i + 1])
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(char)) {
        flowIndicators = true
        blockIndicators = true
      } else if (char === '?' || char === ':') {
        flowIndicators = true
        if (followedByWhitespace) blockIndicators = true
      } else if (char === '-' && followedByWhitespace) {
        flowIndicators = true
        blockIndicators = true
      }
    } else if (',?[]{}'.includes(char)) {
      flowIndicators = true
    } else if (char === ':') {
      flowIndicators = true
      if (followedByWhitespace) blockIndicators = true
    } else if (char === '#' && precededByWhitespace) {
      flowIndicators = true
      blockIndicators = true
    }
    if (!isPrintable(char)) specialCharacters = true
    if (char === ' ') {
      if (i === 0) leadingSpace = true
      if (i === chars.length - 1) trailingSpace = true
      if (previousBreak) breakSpace = true
      previousSpace = true
      previousBreak = false
    } else if (isBreak(char)) {
      lineBreaks = true
      if (i === 0) leadingBreak = true
      if (i === chars.length - 1) trailingBreak = true
      if (previousSpace) spaceBreak = true
      previousSpace = false
      previousBreak = true
    } else {
      previousSpace = false
      previousBreak = false
    }
    precededByWhitespace = isBlankOrEnd(char)
  })
  const analysis: Analysis = { multiline: lineBreaks, flowPlainAllowed: true, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true }
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) analysis.flowPlainAllowed = analysis.blockPlainAllowed = false
  if (trailingSpace) analysis.blockAllowed = false
  if (breakSpace) analysis.flowPlainAllowed = analysis.blockPlainAllowed = analysis.singleQuotedAllowed = false
  if (spaceBreak || specialCharacters) analysis.flowPlainAllowed = analysis.blockPlainAllowed = analysis.singleQuotedAllowed = analysis.blockAllowed = false
  if (lineBreaks) analysis.flowPlainAllowed = analysis.blockPlainAllowed = false
  if (flowIndicators) analysis.flowPlainAllowed = false
  if (blockIndicators) analysis.blockPlainAllowed = false
  return analysis
}

const YAML11_SPECIAL = new Set(
  ['', '~', 'null', 'Null', 'NULL', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']
    .concat(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '.nan', '.NaN', '.NAN', '<<']),
)

/** yaml.v2's resolve(): would this text read back as something other than a string? Then it is quoted. */
function resolvesToNonString(text: string): boolean {
  if (YAML11_SPECIAL.has(text)) return true
  const first = text[0]!
  if (!/[-+0-9.]/.test(first)) return false
  const plain = text.replaceAll('_', '')
  // strconv.ParseInt/ParseUint with base 0, then yaml.v2's float pattern, then 0b binary.
  if (/^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/.test(plain)) return true
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return true
  // Timestamps (yaml.v2 parseTimestamp) for texts starting with a digit.
  if (/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]| +)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?( *(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$/.test(text)) return true
  return false
}

const isBase60Float = (text: string) => /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(text)

/** yaml.v2 sorter.go: letters after other characters, runs of digits compared as numbers. */
export function compareYamlKeys(a: string, b: string): number {
  const left = [...a]
  const right = [...b]
  const isLetter = (char: string) => /^\p{L}$/u.test(char)
  const isDigit = (char: string | undefined) => char !== undefined && /^\p{Nd}$/u.test(char)
  for (let i = 0; i < left.length && i < right.length; i++) {
    if (left[i] === right[i]) continue
    const leftLetter = isLetter(left[i]!)
    const rightLetter = isLetter(right[i]!)
    if (leftLetter && rightLetter) return left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!
    if (leftLetter || rightLetter) return rightLetter ? -1 : 1
    let leftNumber = 0
    let rightNumber = 0
    if (left[i] === '0' || right[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(left[j]); j--) {
        if (left[j] !== '0') {
          leftNumber = 1
          rightNumber = 1
          break
        }
      }
    }
    let li = i
    let ri = i
    for (; li < left.length && isDigit(left[li]); li++) leftNumber = leftNumber * 10 + Number(left[li])
    for (; ri < right.length && isDigit(right[ri]); ri++) rightNumber = rightNumber * 10 + Number(right[ri])
    if (leftNumber !== rightNumber) return leftNumber < rightNumber ? -1 : 1
    if (li !== ri) return li - ri
    return left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!
  }
  return left.length - right.length
}

const DOUBLE_ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\b': 'b',
  '\t': 't',
  '\n': 'n',
  '\v': 'v',
  '\f': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\u0085': 'N',
  '\u00a0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
}

/** The text being written, with the column libyaml tracks for folding. */
class Writer {
  out = ''
  column = 0
  write(text: string): void {
    this.out += text
    this.column += [...text].length
  }
  /** libyaml's write_indent: a line break unless one was just written, then the indentation. */
  newline(indent: number): void {
    if (this.column !== 0) this.out += '\n'
    this.out += ' '.repeat(indent)
    this.column = indent
  }
}

type Style = 'plain' | 'single' | 'double' | 'literal'

function chooseStyle(value: string, simpleKey: boolean): Style {
  let style: Style
  if (value.includes('\n')) style = 'literal'
  else style = resolvesToNonString(value) || isBase60Float(value) ? 'double' : 'plain'
  const analysis = analyze(value)
  if (simpleKey && analysis.multiline) return 'double'
  if (style === 'plain' && (!analysis.blockPlainAllowed || (value === '' && simpleKey))) style = 'single'
  if (style === 'single' && !analysis.singleQuotedAllowed) style = 'double'
  if (style === 'literal' && (!analysis.blockAllowed || simpleKey)) style = 'double'
  return style
}

function writeScalar(writer: Writer, value: string, indent: number, simpleKey: boolean): void {
  const style = chooseStyle(value, simpleKey)
  const allowBreaks = !simpleKey
  const chars = [...value]
  if (style === 'plain') {
    let spaces = false
    chars.forEach((char, i) => {
      if (char === ' ') {
        if (allowBreaks && !spaces && writer.column > BEST_WIDTH && chars[i + 1] !== ' ') writer.newline(indent)
        else writer.write(char)
        spaces = true
      } else {
        writer.write(char)
        spaces = false
      }
    })
    return
  }
  if (style === 'single') {
    writer.write("'")
    let spaces = false
    let breaks = false
    chars.forEach((char, i) => {
      if (char === ' ') {
        if (allowBreaks && !spaces && writer.column > BEST_WIDTH && i > 0 && i < chars.length - 1 && chars[i + 1] !== ' ') writer.newline(indent)
        else writer.write(char)
        spaces = true
      } else if (isBreak(char)) {
        if (!breaks && char === '\n') writer.out += '\n'
        writer.out += char === '\r' || char === '\n' ? '\n' : char
        writer.column = 0
        breaks = true
      } else {
        if (breaks) writer.newline(indent)
        writer.write(char === "'" ? "''" : char)
        spaces = false
        breaks = false
      }
    })
    writer.write("'")
    return
  }
  if (style === 'double') {
    writer.write('"')
    let spaces = false
    // yaml.v2 tests for a BOM at the start of the value, not at each character: after a leading
    // BOM every character is escaped.
    const leadingBom = value.startsWith('\ufeff')
    chars.forEach((char, i) => {
      const code = char.codePointAt(0)!
      if (leadingBom || !isPrintable(char) || isBreak(char) || char === '"' || char === '\\') {
        const short = DOUBLE_ESCAPES[char]
        if (short) writer.write(`\\${short}`)
        else if (code <= 0xff) writer.write(`\\x${code.toString(16).toUpperCase().padStart(2, '0')}`)
        else if (code <= 0xffff) writer.write(`\\u${code.toString(16).toUpperCase().padStart(4, '0')}`)
        else writer.write(`\\U${code.toString(16).toUpperCase().padStart(8, '0')}`)
        spaces = false
      } else if (char === ' ') {
        if (allowBreaks && !spaces && writer.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          writer.newline(indent)
          if (chars[i + 1] === ' ') writer.write('\\')
        } else writer.write(char)
        spaces = true
      } else {
        writer.write(char)
        spaces = false
      }
    })
    writer.write('"')
    return
  }
  // Literal block: indentation indicator when the text starts with a space or break, chomping from its end.
  let hints = chars[0] === ' ' || isBreak(chars[0]) ? String(BEST_INDENT) : ''
  const last = chars.length - 1
  if (!isBreak(chars[last])) hints += '-'
  else if (last === 0 || isBreak(chars[last - 1])) hints += '+'
  writer.write(`|${hints}`)
  writer.out += '\n'
  writer.column = 0
  let breaks = true
  for (const char of chars) {
    if (isBreak(char)) {
      writer.out += char === '\r' ? '\n' : char === '\n' ? '\n' : char
      writer.column = 0
      breaks = true
    } else {
      if (breaks) writer.newline(indent)
      writer.write(char)
      breaks = false
    }
  }
}

/** yaml.v2 marshals json.Number as an int64 if it parses as one, else as a float64, else as a string. */
function jsonNumberScalar(text: string): string {
  if (/^[-+]?[0-9]+$/.test(text)) {
    const big = BigInt(text)
    if (big >= -(2n ** 63n) && big < 2n ** 63n) return big.toString()
  }
  const float = Number(text)
  return Number.isNaN(float) ? text : floatScalar(float)
}

function floatScalar(value: number): string {
  if (Number.isNaN(value)) return '.nan'
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf'
  return formatGoFloat(value, 'g')
}

function scalarText(value: GoValue): string | undefined {
  if (value === undefined || value === null || value instanceof NilPointer) return 'null'
  if (typeof value === 'boolean') return String(value)
  if (isJsonNumber(value)) return jsonNumberScalar(jsonNumberText(value))
  if (value instanceof GoNumber) return value.isFloat ? floatScalar(value.value) : String(value.value)
  return undefined
}

/** yaml.Marshal(value) with surrounding whitespace trimmed (consul-template's toYAML). */
export function marshalYamlV2(value: GoValue): string {
  const writer = new Writer()
  emitValue(writer, value, 0, 'top')
  return writer.out.trim()
}

function emitValue(writer: Writer, value: GoValue, indent: number, context: 'top' | 'mapValue' | 'item'): void {
  if (context === 'item') {
    // After "- ": a mapping continues on the same line, its later keys aligned under the first.
    if (isMap(value) && Object.keys(value).length > 0) {
      writer.write(' ')
      const keys = Object.keys(value).sort(compareYamlKeys)
      keys.forEach((key, i) => {
        if (i > 0) writer.newline(indent)
        writeScalar(writer, key, indent, true)
        writer.write(':')
        emitValue(writer, value[key], indent + BEST_INDENT, 'mapValue')
      })
      return
    }
    if (Array.isArray(value) && value.length > 0) {
      writer.write(' ')
      value.forEach((item, i) => {
        if (i > 0) writer.newline(indent)
        writer.write('-')
        emitValue(writer, item, indent + BEST_INDENT, 'item')
      })
      return
    }
    writer.write(' ')
    emitLeaf(writer, value, indent)
    return
  }
  if (isMap(value) && Object.keys(value).length > 0) {
    const keys = Object.keys(value).sort(compareYamlKeys)
    keys.forEach((key, i) => {
      if (context === 'mapValue' || i > 0) writer.newline(context === 'mapValue' ? indent : indent)
      writeScalar(writer, key, indent, true)
      writer.write(':')
      emitValue(writer, value[key], indent + BEST_INDENT, 'mapValue')
    })
    return
  }
  if (Array.isArray(value) && value.length > 0) {
    const itemIndent = context === 'mapValue' ? indent - BEST_INDENT : indent
    value.forEach((item, i) => {
      if (context === 'mapValue' || i > 0) writer.newline(itemIndent)
      writer.write('-')
      emitValue(writer, item, itemIndent + BEST_INDENT, 'item')
    })
    return
  }
  if (context === 'mapValue') writer.write(' ')
  emitLeaf(writer, value, indent)
}

function emitLeaf(writer: Writer, value: GoValue, indent: number): void {
  if (value instanceof SecretValue) return emitValue(writer, Object.fromEntries(SecretValue.FIELDS.map((name) => [name, value.field(name)])), indent, 'top')
  const scalar = scalarText(value)
  if (scalar !== undefined) return writer.write(scalar)
  // A scalar that is the whole document still folds and indents its block at two spaces.
  if (typeof value === 'string') return writeScalar(writer, value, indent === 0 ? BEST_INDENT : indent, false)
  writer.write(Array.isArray(value) ? '[]' : '{}')
}

// Tokens of Go's text/template (pkg.go.dev/text/template, text/template/parse/lex.go), with its
// whitespace trimming: `{{- ` drops all spaces, tabs, CRs and newlines before the action and
// ` -}}` all of them after it; the marker needs the space ("{{-3}}" is the number -3).
import { templateSyntaxError, templateUnsupported } from './template-errors.ts'

export type TokenKind =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'identifier'
  | 'keyword'
  | 'bool'
  | 'nil'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'number'
  | 'pipe'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'leftParen'
  | 'rightParen'
  | 'eof'

export interface Token {
  kind: TokenKind
  /** Source text, except for strings (decoded) and text (after trimming). */
  value: string
  /** Offsets into the source: [pos, end). */
  pos: number
  end: number
}

const LEFT_DELIM = '{{'
const RIGHT_DELIM = '}}'
const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with'])

const isSpace = (char: string | undefined) => char === ' ' || char === '\t' || char === '\r' || char === '\n'
const isAlphaNumeric = (char: string | undefined) => char !== undefined && /^[\p{L}\p{Nd}_]$/u.test(char)

export function lex(source: string): Token[] {
  return new Lexer(source).run()
}

class Lexer {
  private readonly source: string
  private readonly tokens: Token[] = []
  private pos = 0
  private parenDepth = 0

  constructor(source: string) {
    this.source = source
  }

  run(): Token[] {
    let trimLeadingSpace = false
    while (this.pos < this.source.length) {
      const delim = this.source.indexOf(LEFT_DELIM, this.pos)
      const textEnd = delim < 0 ? this.source.length : delim
      let start = this.pos
      if (trimLeadingSpace) while (start < textEnd && isSpace(this.source[start])) start++
      let end = textEnd
      if (delim >= 0 && this.hasLeftTrimMarker(delim + LEFT_DELIM.length)) while (end > start && isSpace(this.source[end - 1])) end--
      if (end > start) this.emit('text', start, end)
      if (delim < 0) break
      trimLeadingSpace = this.lexAction(delim)
    }
    this.tokens.push({ kind: 'eof', value: '', pos: this.source.length, end: this.source.length })
    return this.tokens
  }

  private hasLeftTrimMarker(at: number): boolean {
    return this.source[at] === '-' && isSpace(this.source[at + 1])
  }

  /** " -}}" or "}}" at `at`: whether a right delimiter starts there, and whether it trims. */
  private rightDelimAt(at: number): { delim: boolean; trim: boolean } {
    if (isSpace(this.source[at]) && this.source[at + 1] === '-' && this.source.startsWith(RIGHT_DELIM, at + 2)) return { delim: true, trim: true }
    return { delim: this.source.startsWith(RIGHT_DELIM, at), trim: false }
  }

  /** Lexes one `{{ … }}` starting at `start`; returns whether it ends with a trim marker. */
  private lexAction(start: number): boolean {
    let at = start + LEFT_DELIM.length
    if (this.hasLeftTrimMarker(at)) at += 2
    if (this.source.startsWith('/*', at)) return this.lexComment(start, at)
    this.emit('leftDelim', start, at)
    this.pos = at
    this.parenDepth = 0
    for (;;) {
      const { delim, trim } = this.rightDelimAt(this.pos)
      if (delim) {
        if (this.parenDepth > 0) throw templateSyntaxError(this.source, this.pos, 'unclosed left paren')
        const delimStart = this.pos
        this.pos += (trim ? 2 : 0) + RIGHT_DELIM.length
        this.emit('rightDelim', delimStart, this.pos)
        return trim
      }
      this.lexInsideAction()
    }
  }

  private lexComment(start: number, at: number): boolean {
    const close = this.source.indexOf('*/', at + 2)
    if (close < 0) throw templateSyntaxError(this.source, start, 'unclosed comment')
    const { delim, trim } = this.rightDelimAt(close + 2)
    if (!delim) throw templateSyntaxError(this.source, close, 'comment ends before closing delimiter')
    this.pos = close + 2 + (trim ? 2 : 0) + RIGHT_DELIM.length
    return trim
  }

  private lexInsideAction(): void {
    const start = this.pos
    const char = this.source[start]
    if (char === undefined) throw templateSyntaxError(this.source, start, 'unclosed action')
    if (isSpace(char)) return this.lexSpace()
    switch (char) {
      case '=':
        return this.emit('assign', start, ++this.pos)
      case ':':
        if (this.source[start + 1] !== '=') throw templateSyntaxError(this.source, start, 'expected :=')
        return this.emit('declare', start, (this.pos += 2))
      case '|':
        return this.emit('pipe', start, ++this.pos)
      case ',':
        return this.emit('comma', start, ++this.pos)
      case '(':
        this.parenDepth++
        return this.emit('leftParen', start, ++this.pos)
      case ')':
        if (--this.parenDepth < 0) throw templateSyntaxError(this.source, start, 'unexpected right paren')
        return this.emit('rightParen', start, ++this.pos)
      case '"':
        return this.lexQuote()
      case '`':
        return this.lexRawQuote()
      case '$':
        return this.lexFieldOrVariable('variable')
      case "'":
        throw templateUnsupported(this.source, start, 'A character constant')
    }
    if (char === '.' && !/[0-9]/.test(this.source[start + 1] ?? '')) return this.lexFieldOrVariable('field')
    if (char === '.' || char === '+' || char === '-' || /[0-9]/.test(char)) return this.lexNumber()
    if (isAlphaNumeric(char)) return this.lexIdentifier()
    throw templateSyntaxError(this.source, start, `unexpected character ${JSON.stringify(char)} in action`)
  }

  /** Spaces, leaving the one before " -}}" for the delimiter (lex.go, lexSpace). */
  private lexSpace(): void {
    const start = this.pos
    while (isSpace(this.source[this.pos])) this.pos++
    if (this.source.startsWith(`-${RIGHT_DELIM}`, this.pos)) this.pos--
    if (this.pos > start) this.emit('space', start, this.pos)
  }

  private atTerminator(): boolean {
    const char = this.source[this.pos]
    return char === undefined || isSpace(char) || '.,|:()'.includes(char) || this.source.startsWith(RIGHT_DELIM, this.pos)
  }

  private lexFieldOrVariable(kind: 'field' | 'variable'): void {
    const start = this.pos++
    if (this.atTerminator()) return this.emit(kind === 'field' ? 'dot' : 'variable', start, this.pos)
    while (isAlphaNumeric(this.source[this.pos])) this.pos++
    if (!this.atTerminator()) throw templateSyntaxError(this.source, this.pos, `bad character ${JSON.stringify(this.source[this.pos])}`)
    this.emit(kind, start, this.pos)
  }

  private lexIdentifier(): void {
    const start = this.pos
    while (isAlphaNumeric(this.source[this.pos])) this.pos++
    if (!this.atTerminator()) throw templateSyntaxError(this.source, this.pos, `bad character ${JSON.stringify(this.source[this.pos])}`)
    const word = this.source.slice(start, this.pos)
    const kind: TokenKind = KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier'
    this.emit(kind, start, this.pos)
  }

  private lexNumber(): void {
    const start = this.pos
    const match = /[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oObB][0-9_]*|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?/y
    match.lastIndex = start
    const text = match.exec(this.source)?.[0] ?? ''
    this.pos = start + text.length
    if (!/[0-9]/.test(text) || isAlphaNumeric(this.source[this.pos]) || this.source[this.pos] === '.') {
      throw templateSyntaxError(this.source, start, `bad number syntax: ${JSON.stringify(this.source.slice(start, this.pos + 1))}`)
    }
    if (text.endsWith('i')) throw templateUnsupported(this.source, start, 'A complex number')
    this.emit('number', start, this.pos)
  }

  private lexQuote(): void {
    const start = this.pos++
    for (;;) {
      const char = this.source[this.pos++]
      if (char === '\\') {
        const escaped = this.source[this.pos++]
        if (escaped === undefined || escaped === '\n') throw templateSyntaxError(this.source, start, 'unterminated quoted string')
      } else if (char === undefined || char === '\n') {
        throw templateSyntaxError(this.source, start, 'unterminated quoted string')
      } else if (char === '"') {
        break
      }
    }
    this.tokens.push({ kind: 'string', value: this.unquote(start, this.pos), pos: start, end: this.pos })
  }

  private lexRawQuote(): void {
    const start = this.pos
    const close = this.source.indexOf('`', start + 1)
    if (close < 0) throw templateSyntaxError(this.source, start, 'unterminated raw quoted string')
    this.pos = close + 1
    // Go drops carriage returns from raw strings (The Go Programming Language Specification, "String literals").
    this.tokens.push({ kind: 'string', value: this.source.slice(start + 1, close).replaceAll('\r', ''), pos: start, end: this.pos })
  }

  /** strconv.Unquote of a double-quoted Go string literal. */
  private unquote(start: number, end: number): string {
    const body = this.source.slice(start + 1, end - 1)
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' }
    return body.replace(/\\(?:([abfnrtv\\"])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))/gsu, (_, single, hex, octal, u4, u8, other, offset: number) => {
      if (single) return simple[single]!
      if (other !== undefined) throw templateSyntaxError(this.source, start + 1 + offset, `unknown escape sequence \\${other}`)
      const code = Number.parseInt(hex ?? octal ?? u4 ?? u8, hex ? 16 : octal ? 8 : 16)
      // \x and octal escapes are bytes: above 0x7f they are not text on their own.
      if ((hex || octal) && code > 0x7f) throw templateUnsupported(this.source, start + 1 + offset, 'A byte escape above \\x7f in a string')
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw templateSyntaxError(this.source, start + 1 + offset, 'invalid Unicode escape')
      return String.fromCodePoint(code)
    })
  }

  private emit(kind: TokenKind, start: number, end: number): void {
    this.tokens.push({ kind, value: this.source.slice(start, end), pos: start, end })
  }
}

// Parser for the supported subset of Go's text/template, following text/template/parse/parse.go
// (same grammar, same variable scoping, same `else if` rewriting). What Vault Agent accepts but
// vault-edge does not render is a template_unsupported error naming it.
import type { Command, Node, Operand, Pipeline, Template } from './ast.ts'
import { SUPPORTED_FUNCTIONS, unsupportedReason } from './functions.ts'
import { lex, type Token, type TokenKind } from './lexer.ts'
import { normalizeSecretPath } from './secret-path.ts'
import { parsePkiRequest, type PkiRequest } from './pki-request.ts'
import { TemplateRuntimeError, templateSyntaxError, templateUnsupported } from './template-errors.ts'

/** Nested controls and parentheses; deeper than any real template, shallow enough for the stack. */
export const MAX_TEMPLATE_NESTING = 100

type Terminator = { type: 'end' | 'else'; pos: number }

const isTerminator = (node: Node | Terminator): node is Terminator => node.type === 'end' || node.type === 'else'

const OPERAND_START: ReadonlySet<TokenKind> = new Set(['bool', 'dot', 'field', 'identifier', 'number', 'nil', 'string', 'variable', 'leftParen'])

export function parse(source: string): Template {
  return new Parser(source).parseTemplate()
}

class Parser {
  private readonly source: string
  private readonly tokens: Token[]
  private index = 0
  private readonly vars: string[] = ['$']
  private rangeDepth = 0
  private depth = 0
  private readonly secretPaths: string[] = []
  private readonly defines = new Map<string, Node[]>()
  private readonly pkiRequests: PkiRequest[] = []

  constructor(source: string) {
    this.source = source
    this.tokens = lex(source)
  }

  parseTemplate(): Template {
    const nodes: Node[] = []
    while (this.peek().kind !== 'eof') {
      if (this.atDefine()) continue
      const node = this.textOrAction()
      if (isTerminator(node)) throw this.syntax(node.pos, `unexpected {{${node.type}}}`)
      nodes.push(node)
    }
    return { source: this.source, nodes, defines: this.defines, pkiRequests: this.pkiRequests, secretPaths: this.secretPaths }
  }

  /** `{{define "name"}}…{{end}}`, only at the top level (parse.go, parse). */
  private atDefine(): boolean {
    const start = this.index
    const delim = this.next()
    if (delim.kind !== 'leftDelim') {
      this.index = start
      return false
    }
    const keyword = this.nextNonSpace()
    if (keyword.kind !== 'keyword' || keyword.value !== 'define') {
      this.index = start
      return false
    }
    const name = this.expect('string', 'define clause')
    this.expect('rightDelim', 'define clause')
    this.define(name, this.definitionBody(delim.pos))
    return true
  }

  private definitionBody(pos: number): Node[] {
    this.enter(pos)
    const saved = this.vars.splice(1) // A named template sees only its own `$`.
    const body = this.itemList()
    if (body.terminator.type !== 'end') throw this.syntax(body.terminator.pos, 'unexpected {{else}} in define clause')
    this.vars.push(...saved)
    this.depth--
    return body.list
  }

  private define(name: Token, list: Node[]): void {
    const existing = this.defines.get(name.value)
    const isEmpty = (nodes: Node[]) => nodes.every((node) => node.type === 'text' && node.text.trim() === '')
    if (existing && !isEmpty(existing) && !isEmpty(list)) throw this.syntax(name.pos, `template: multiple definition of template ${JSON.stringify(name.value)}`)
    if (!existing || !isEmpty(list)) this.defines.set(name.value, list)
  }

  /** `{{template "name" pipeline}}` and `{{block "name" pipeline}}…{{end}}`. */
  private templateCall(keyword: Token, delim: Token): Node {
    const name = this.expect('string', `${keyword.value} clause`)
    let pipe: Pipeline | undefined
    if (this.peekNonSpace().kind === 'rightDelim') this.nextNonSpace()
    else pipe = this.pipeline(`${keyword.value} clause`, 'rightDelim')
    if (keyword.value === 'block') {
      if (!pipe) throw this.syntax(name.end, 'missing value for block clause')
      this.define(name, this.definitionBody(delim.pos))
    }
    return { type: 'template', name: name.value, pipe, pos: delim.pos, end: pipe?.end ?? name.end }
  }

  // --- tokens

  private next(): Token {
    const token = this.tokens[this.index]!
    if (token.kind !== 'eof') this.index++
    return token
  }

  private peek(): Token {
    return this.tokens[this.index]!
  }

  private nextNonSpace(): Token {
    let token = this.next()
    while (token.kind === 'space') token = this.next()
    return token
  }

  private peekNonSpace(): Token {
    const token = this.nextNonSpace()
    if (token.kind !== 'eof') this.index--
    return token
  }

  private expect(kind: TokenKind, context: string): Token {
    const token = this.nextNonSpace()
    if (token.kind !== kind) throw this.unexpected(token, context)
    return token
  }

  private syntax(pos: number, message: string) {
    return templateSyntaxError(this.source, pos, message)
  }

  private unexpected(token: Token, context: string) {
    const what = token.kind === 'eof' ? 'end of template' : JSON.stringify(token.value.slice(0, 40))
    return this.syntax(token.pos, `unexpected ${what} in ${context}`)
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_TEMPLATE_NESTING) throw this.syntax(pos, `nested deeper than ${MAX_TEMPLATE_NESTING} levels`)
  }

  // --- lists and actions

  private itemList(): { list: Node[]; terminator: Terminator } {
    const list: Node[] = []
    while (this.peekNonSpace().kind !== 'eof') {
      const node = this.textOrAction()
      if (isTerminator(node)) return { list, terminator: node }
      list.push(node)
    }
    throw this.syntax(this.source.length, 'unexpected end of template (missing {{end}}?)')
  }

  private textOrAction(): Node | Terminator {
    const token = this.nextNonSpace()
    if (token.kind === 'text') return { type: 'text', text: token.value, pos: token.pos, end: token.end }
    if (token.kind === 'leftDelim') return this.action(token)
    throw this.unexpected(token, 'input')
  }

  private action(delim: Token): Node | Terminator {
    const token = this.nextNonSpace()
    if (token.kind === 'keyword') {
      switch (token.value) {
        case 'define':
          throw this.syntax(token.pos, 'unexpected {{define}}: define is allowed only at the top level')
        case 'block':
        case 'template':
          return this.templateCall(token, delim)
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) throw this.syntax(token.pos, `{{${token.value}}} outside {{range}}`)
          return { type: token.value, pos: delim.pos, end: this.expect('rightDelim', token.value).end }
        case 'else':
          return this.elseControl(token)
        case 'end':
          this.expect('rightDelim', 'end')
          return { type: 'end', pos: token.pos }
        case 'if':
        case 'range':
        case 'with':
          return this.control(token.value, delim.pos)
      }
    }
    this.index-- // Not a keyword: put it back for the pipeline.
    const pipe = this.pipeline('command', 'rightDelim')
    return { type: 'action', pipe, pos: delim.pos, end: pipe.end }
  }

  /** `{{else}}`, or `{{else if …}}` / `{{else with …}}` with the keyword left to read. */
  private elseControl(token: Token): Terminator {
    const peek = this.peekNonSpace()
    if (peek.kind === 'keyword' && (peek.value === 'if' || peek.value === 'with')) return { type: 'else', pos: token.pos }
    this.expect('rightDelim', 'else')
    return { type: 'else', pos: token.pos }
  }

  private control(context: 'if' | 'range' | 'with', pos: number): Node {
    this.enter(pos)
    const scope = this.vars.length // Variables live until the matching {{end}}.
    const pipe = this.pipeline(context, 'rightDelim')
    if (context === 'range') this.rangeDepth++
    const body = this.itemList()
    if (context === 'range') this.rangeDepth--
    let elseList: Node[] | undefined
    if (body.terminator.type === 'else') {
      const keyword = this.peek()
      // {{if a}}…{{else if b}}…{{end}} is {{if a}}…{{else}}{{if b}}…{{end}}{{end}} (parse.go).
      if (keyword.kind === 'keyword' && keyword.value === context && context !== 'range') {
        this.next()
        elseList = [this.control(context, keyword.pos)]
      } else {
        const rest = this.itemList()
        if (rest.terminator.type !== 'end') throw this.syntax(rest.terminator.pos, 'expected {{end}}, found {{else}}')
        elseList = rest.list
      }
    }
    this.vars.length = scope
    this.depth--
    return { type: context, pipe, list: body.list, elseList, pos, end: pipe.end }
  }

  // --- pipelines, commands, operands

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipeline {
    const pipe: Pipeline = { isAssign: false, decl: [], cmds: [], pos: this.peekNonSpace().pos, end: 0 }
    this.declarations(pipe, context)
    for (;;) {
      const token = this.nextNonSpace()
      if (token.kind === end) {
        pipe.end = token.end
        this.checkPipeline(pipe, context, token)
        return pipe
      }
      if (!OPERAND_START.has(token.kind)) throw this.unexpected(token, context)
      this.index--
      pipe.cmds.push(this.command(pipe.cmds.length))
    }
  }

  /** `$x :=`, `$x =`, and in range `$k, $v :=`; otherwise leaves the tokens alone. */
  private declarations(pipe: Pipeline, context: string): void {
    for (;;) {
      const start = this.index
      const variable = this.nextNonSpace()
      if (variable.kind !== 'variable') {
        this.index = start
        return
      }
      const operator = this.nextNonSpace()
      if (operator.kind === 'declare' || operator.kind === 'assign') {
        pipe.isAssign = operator.kind === 'assign'
        if (pipe.isAssign && !this.vars.includes(variable.value)) throw this.syntax(variable.pos, `undefined variable ${JSON.stringify(variable.value)}`)
        pipe.decl.push(variable.value)
        this.vars.push(variable.value)
        return
      }
      if (operator.kind === 'comma') {
        pipe.decl.push(variable.value)
        this.vars.push(variable.value)
        if (context === 'range' && pipe.decl.length < 2) {
          const nextKind = this.peekNonSpace().kind
          if (nextKind === 'variable' || nextKind === 'rightDelim' || nextKind === 'rightParen') continue
          throw this.syntax(operator.pos, 'range can only initialize variables')
        }
        throw this.syntax(operator.pos, `too many declarations in ${context}`)
      }
      this.index = start // `$x` is an operand, not a declaration.
      return
    }
  }

  private checkPipeline(pipe: Pipeline, context: string, endToken: Token): void {
    if (pipe.cmds.length === 0) throw this.syntax(endToken.pos, `missing value for ${context}`)
    pipe.cmds.slice(1).forEach((cmd, i) => {
      const first = cmd.args[0]!
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(first.type)) throw this.syntax(first.pos, `non executable command in pipeline stage ${i + 2}`)
    })
  }

  private command(stage: number): Command {
    const cmd: Command = { args: [], pos: this.peekNonSpace().pos, end: 0 }
    for (;;) {
      this.peekNonSpace()
      const operand = this.operand()
      if (operand) cmd.args.push(operand)
      const token = this.next()
      if (token.kind === 'space') continue
      if (token.kind === 'rightDelim' || token.kind === 'rightParen') this.index--
      else if (token.kind !== 'pipe') throw this.unexpected(token, 'operand')
      break
    }
    if (cmd.args.length === 0) throw this.syntax(cmd.pos, 'empty command')
    cmd.end = cmd.args.at(-1)!.end
    this.checkSecretCall(cmd, stage)
    return cmd
  }

  /** `pkiCert "path" "k=v"…` with string literals only: issued before rendering, like secrets. */
  private checkPkiCall(cmd: Command, stage: number): void {
    const [first, ...args] = cmd.args
    for (const arg of args) {
      if (arg.type === 'identifier' && arg.name === 'pkiCert') throw templateUnsupported(this.source, arg.pos, '`pkiCert` as an argument (wrap it in parentheses)')
    }
    if (first?.type !== 'identifier' || first.name !== 'pkiCert') return
    if (stage > 0 || args.length === 0 || args.some((arg) => arg.type !== 'string')) {
      throw templateUnsupported(this.source, first.pos, '`pkiCert` with arguments that are not string literals')
    }
    let request: PkiRequest
    try {
      request = parsePkiRequest(args.map((arg) => (arg as Operand & { type: 'string' }).value))
    } catch (error) {
      if (error instanceof TemplateRuntimeError) throw this.syntax(args[0]!.pos, error.message)
      throw error
    }
    if (!this.pkiRequests.some((known) => known.key === request.key)) this.pkiRequests.push(request)
  }

  /** Only `secret "literal path"` is rendered: paths must be known before any Vault read. */
  private checkSecretCall(cmd: Command, stage: number): void {
    this.checkPkiCall(cmd, stage)
    const [first, ...args] = cmd.args
    for (const arg of args) {
      if (arg.type === 'identifier' && arg.name === 'secret') throw templateUnsupported(this.source, arg.pos, '`secret` as an argument (wrap it in parentheses)')
    }
    if (first?.type !== 'identifier' || first.name !== 'secret') return
    if (stage > 0 || args.length === 0 || args[0]!.type !== 'string') {
      throw templateUnsupported(this.source, first.pos, '`secret` with a path that is not a string literal')
    }
    if (args.length > 1) throw templateUnsupported(this.source, first.pos, '`secret` with write parameters ("key=value"); use POST /v1/secrets/{path}')
    let path: string
    try {
      path = normalizeSecretPath(args[0]!.value)
    } catch (error) {
      if (error instanceof TemplateRuntimeError) throw this.syntax(args[0]!.pos, error.message)
      throw error
    }
    if (!this.secretPaths.includes(path)) this.secretPaths.push(path)
  }

  private operand(): Operand | undefined {
    const node = this.term()
    if (!node || this.peek().kind !== 'field') return node
    const idents: string[] = []
    let end = node.end
    while (this.peek().kind === 'field') {
      const field = this.next()
      idents.push(field.value.slice(1))
      end = field.end
    }
    switch (node.type) {
      case 'field':
      case 'variable':
        return { ...node, idents: [...node.idents, ...idents], end }
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        throw this.syntax(node.end, 'unexpected . after term')
      default:
        return { type: 'chain', node, idents, pos: node.pos, end }
    }
  }

  private term(): Operand | undefined {
    const token = this.nextNonSpace()
    const span = { pos: token.pos, end: token.end }
    switch (token.kind) {
      case 'identifier':
        if (!SUPPORTED_FUNCTIONS.has(token.value)) {
          throw templateUnsupported(this.source, token.pos, `The function ${JSON.stringify(token.value)} (${unsupportedReason(token.value)})`)
        }
        return { type: 'identifier', name: token.value, ...span }
      case 'dot':
        return { type: 'dot', ...span }
      case 'nil':
        return { type: 'nil', ...span }
      case 'variable':
        if (!this.vars.includes(token.value)) throw this.syntax(token.pos, `undefined variable ${JSON.stringify(token.value)}`)
        return { type: 'variable', name: token.value, idents: [], ...span }
      case 'field':
        return { type: 'field', idents: [token.value.slice(1)], ...span }
      case 'bool':
        return { type: 'bool', value: token.value === 'true', ...span }
      case 'number':
        return this.number(token)
      case 'string':
        return { type: 'string', value: token.value, ...span }
      case 'leftParen': {
        this.enter(token.pos)
        const pipe = this.pipeline('parenthesized pipeline', 'rightParen')
        this.depth--
        return { type: 'pipe', pipe, pos: token.pos, end: pipe.end }
      }
    }
    this.index--
    return undefined
  }

  /** Go number literals (strconv.ParseInt base 0, then ParseFloat), as parse.go's NumberNode. */
  private number(token: Token): Operand {
    const text = token.value.replaceAll('_', '')
    const negative = text.startsWith('-')
    const unsigned = text.replace(/^[+-]/, '')
    let value: number
    let isFloat = false
    if (/^0[xX][0-9a-fA-F]+$/.test(unsigned) || /^0[oObB][0-7]+$/.test(unsigned)) value = Number(unsigned.toLowerCase())
    else if (/^0[0-7]+$/.test(unsigned)) value = Number.parseInt(unsigned, 8)
    else if (/^[0-9]+$/.test(unsigned)) value = Number(unsigned)
    else {
      value = Number(unsigned)
      isFloat = true
      if (/^0[xX]/.test(unsigned)) throw templateUnsupported(this.source, token.pos, 'A hexadecimal floating-point number')
    }
    if (Number.isNaN(value)) throw this.syntax(token.pos, `bad number ${JSON.stringify(token.value)}`)
    // Go takes int64 literals; JavaScript numbers are exact to 2^53 only.
    if (!isFloat && !Number.isSafeInteger(value)) throw templateUnsupported(this.source, token.pos, 'An integer literal beyond ±2^53 (9007199254740991)')
    return { type: 'number', value: negative ? -value : value, isFloat, pos: token.pos, end: token.end }
  }
}

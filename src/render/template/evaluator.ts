// Executes a parsed template the way Go's text/template does under consul-template, which runs
// with the data `nil` and Option("missingkey=zero") unless error_on_missing_key is set
// (template/template.go): a missing key prints `<no value>`, a field of a missing key is an
// error. Pure: the secrets were read before, by path (listSecretPaths).
import { AppError } from '../../errors.ts'
import type { Command, Node, Operand, Pipeline, Span, Template } from './ast.ts'
import { FUNCTIONS } from './functions.ts'
import { printValue } from './go-format.ts'
import { normalizeSecretPath } from './secret-path.ts'
import { pkiRequestKey } from './pki-request.ts'
import { TemplateRuntimeError, templateExecutionError } from './template-errors.ts'
import { GoNumber, PemEncoded, SecretValue, isMap, isTrue, sortedKeys, typeName, type GoValue, type VaultSecretResponse } from './values.ts'

/** Rendered text beyond this is a 413: nested ranges can multiply a small secret. */
export const MAX_TEMPLATE_OUTPUT_CHARS = 1024 * 1024
/** Evaluation steps (nodes and commands); bounds CPU for ranges that print nothing. */
export const MAX_TEMPLATE_STEPS = 1_000_000
/**
 * Characters (and map or list entries) that function calls take and return, all calls together.
 * A call is one step however long its strings are: nested ranges calling base64Encode on a
 * 30 KB literal kept one request busy for a minute within MAX_TEMPLATE_STEPS.
 */
export const MAX_TEMPLATE_FUNCTION_WORK = 4 * 1024 * 1024
/** Nested {{template}} / executeTemplate calls; Go stops at 100 000, which would overflow the stack here. */
export const MAX_TEMPLATE_CALL_DEPTH = 100

const MISSING = Symbol('no final argument')
type Final = GoValue | typeof MISSING

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string
  value: GoValue
}

export function execute(template: Template, secrets: ReadonlyMap<string, VaultSecretResponse>, certificates: ReadonlyMap<string, VaultSecretResponse>): string {
  return new Evaluator(template, secrets, certificates).run(template.nodes)
}

class Evaluator {
  private readonly source: string
  private readonly defines: ReadonlyMap<string, Node[]>
  private readonly secrets: ReadonlyMap<string, VaultSecretResponse>
  private readonly certificates: ReadonlyMap<string, VaultSecretResponse>
  private output: string[] = []
  private callDepth = 0
  private outputChars = 0
  private steps = 0
  private functionWork = 0
  /** `$` is the data, which consul-template passes as nil. */
  private readonly vars: Variable[] = [{ name: '$', value: undefined }]
  /** The command being evaluated, for error positions. */
  private current: Span = { pos: 0, end: 0 }

  constructor(template: Template, secrets: ReadonlyMap<string, VaultSecretResponse>, certificates: ReadonlyMap<string, VaultSecretResponse>) {
    this.source = template.source
    this.defines = template.defines
    this.secrets = secrets
    this.certificates = certificates
  }

  run(nodes: Node[]): string {
    try {
      this.walkList(undefined, nodes)
    } catch (error) {
      if (error instanceof TemplateRuntimeError) throw this.fail(error.message)
      // A stack overflow (deeply nested data printed or marshalled) is the template's 400, not a 500.
      if (error instanceof RangeError) throw this.fail('the template or its data is nested too deeply, or a value grew too large')
      throw error
    }
    return this.output.join('')
  }

  private fail(message: string): AppError {
    const context = this.source.slice(this.current.pos, Math.min(this.current.end, this.current.pos + 60))
    return templateExecutionError(this.source, this.current.pos, JSON.stringify(context), message)
  }

  private tick(): void {
    if (++this.steps > MAX_TEMPLATE_STEPS) throw new TemplateRuntimeError(`the template takes more than ${MAX_TEMPLATE_STEPS} steps`)
  }

  private write(text: string): void {
    this.outputChars += text.length
    if (this.outputChars > MAX_TEMPLATE_OUTPUT_CHARS) {
      throw new AppError(413, 'too_large', `The rendered template is longer than ${MAX_TEMPLATE_OUTPUT_CHARS} characters.`)
    }
    this.output.push(text)
  }

  // --- control structures (exec.go, walk)

  private walkList(dot: GoValue, nodes: readonly Node[]): void {
    for (const node of nodes) this.walk(dot, node)
  }

  private walk(dot: GoValue, node: Node): void {
    this.tick()
    switch (node.type) {
      case 'text':
        return this.write(node.text)
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe)
        if (node.pipe.decl.length === 0) this.write(printValue(value))
        return
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node.type, node.pipe, node.list, node.elseList)
      case 'range':
        return this.walkRange(dot, node.pipe, node.list, node.elseList)
      case 'template': {
        this.current = node
        const data = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined
        return this.callTemplate(node.name, data)
      }
      case 'break':
        throw new BreakSignal()
      case 'continue':
        throw new ContinueSignal()
    }
  }

  private walkIfOrWith(dot: GoValue, type: 'if' | 'with', pipe: Pipeline, list: Node[], elseList: Node[] | undefined): void {
    const mark = this.vars.length
    const value = this.evalPipeline(dot, pipe)
    if (isTrue(value)) this.walkList(type === 'with' ? value : dot, list)
    else if (elseList) this.walkList(dot, elseList)
    this.vars.length = mark
  }

  private walkRange(dot: GoValue, pipe: Pipeline, list: Node[], elseList: Node[] | undefined): void {
    const mark = this.vars.length
    const value = this.evalPipeline(dot, pipe)
    const bodyMark = this.vars.length
    let entries: Array<[GoValue, GoValue]>
    if (value === undefined || value === null) entries = []
    else if (Array.isArray(value)) entries = value.map((item, i) => [new GoNumber(i, false), item])
    else if (isMap(value)) entries = sortedKeys(value).map((key) => [key, value[key]])
    else if (value instanceof GoNumber && !value.isFloat) {
      // Go 1.22: range over an integer n visits 0 … n-1, with one variable at most.
      if (pipe.decl.length > 1) throw new TemplateRuntimeError(`can't use ${value.value} to iterate over more than one variable`)
      if (value.value > MAX_TEMPLATE_STEPS) throw new TemplateRuntimeError(`the template takes more than ${MAX_TEMPLATE_STEPS} steps`)
      entries = Array.from({ length: Math.max(0, value.value) }, (_, i) => [new GoNumber(i, value.type), new GoNumber(i, value.type)])
    } else throw new TemplateRuntimeError(`range can't iterate over a value of type ${typeName(value)}`)

    for (const [key, element] of entries) {
      this.tick()
      // With `$k, $v :=` the index goes to the first variable and the element to the second;
      // with `$v :=` the element goes to the only one (exec.go, walkRange).
      const [first, second] = pipe.decl
      if (second !== undefined) {
        this.setVariable(first!, key, pipe.isAssign, bodyMark - 2)
        this.setVariable(second, element, pipe.isAssign, bodyMark - 1)
      } else if (first !== undefined) {
        this.setVariable(first, element, pipe.isAssign, bodyMark - 1)
      }
      try {
        this.walkList(element, list)
      } catch (signal) {
        if (signal instanceof BreakSignal) {
          this.vars.length = bodyMark
          break
        }
        if (!(signal instanceof ContinueSignal)) throw signal
      }
      this.vars.length = bodyMark
    }
    if (entries.length === 0 && elseList) this.walkList(dot, elseList)
    this.vars.length = mark
  }

  /** Runs a named template with its own variables (`$` is its data), writing to the output. */
  private callTemplate(name: string, data: GoValue): void {
    const body = this.defines.get(name)
    if (!body) throw new TemplateRuntimeError(`no such template ${JSON.stringify(name)}`)
    if (++this.callDepth > MAX_TEMPLATE_CALL_DEPTH) throw new TemplateRuntimeError(`templates call each other more than ${MAX_TEMPLATE_CALL_DEPTH} levels deep`)
    const saved = this.vars.splice(0)
    this.vars.push({ name: '$', value: data })
    try {
      this.walkList(data, body)
    } finally {
      this.vars.splice(0, this.vars.length, ...saved)
      this.callDepth--
    }
  }

  /** consul-template's executeTemplate: a named template's output as a string. */
  private executeTemplate(dot: GoValue, args: readonly Operand[], final: Final): string {
    const values = args.map((arg) => this.evalArg(dot, arg))
    if (final !== MISSING) values.push(final)
    if (values.length < 1 || values.length > 2) throw new TemplateRuntimeError(`executeTemplate: wrong number of arguments, expected 1 or 2, but got ${values.length}`)
    if (typeof values[0] !== 'string') throw new TemplateRuntimeError(`wrong type for value; expected string; got ${typeName(values[0])}`)
    const outer = this.output
    this.output = []
    try {
      this.callTemplate(values[0], values.length === 2 ? values[1] : null)
      return this.output.join('')
    } finally {
      this.output = outer
    }
  }

  /** A declared range variable sits at a known slot; an assigned one is found by name. */
  private setVariable(name: string, value: GoValue, isAssign: boolean, slot: number): void {
    if (isAssign) this.assign(name, value)
    else this.vars[slot] = { name, value }
  }

  // --- pipelines and commands (exec.go, evalPipeline, evalCommand)

  private evalPipeline(dot: GoValue, pipe: Pipeline): GoValue {
    let value: Final = MISSING
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value)
      // An interface{} result holding nil is "no value" from here on (exec.go: reflect.ValueOf(v.Interface())).
      if (value === null) value = undefined
    }
    const result = value === MISSING ? undefined : value
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.assign(name, result)
      else this.vars.push({ name, value: result })
    }
    return result
  }

  private evalCommand(dot: GoValue, cmd: Command, final: Final): GoValue {
    this.tick()
    this.current = cmd
    const first = cmd.args[0]!
    switch (first.type) {
      case 'field':
        return this.evalFieldChain(dot, dot, first.idents, cmd.args, final)
      case 'chain':
        return this.evalFieldChain(dot, this.evalArg(dot, first.node), first.idents, cmd.args, final)
      case 'variable':
        if (first.idents.length > 0) return this.evalFieldChain(dot, this.variable(first.name), first.idents, cmd.args, final)
        break
      case 'identifier':
        return this.evalFunction(dot, first.name, cmd.args.slice(1), final)
      case 'nil':
        throw new TemplateRuntimeError('nil is not a command')
    }
    if (cmd.args.length > 1 || final !== MISSING) throw new TemplateRuntimeError(`can't give argument to non-function ${this.text(first)}`)
    return this.evalArg(dot, first)
  }

  /** An operand used as a value (exec.go, evalArg for interface{} parameters). */
  private evalArg(dot: GoValue, arg: Operand): GoValue {
    switch (arg.type) {
      case 'dot':
        return dot
      case 'nil':
        return null
      case 'bool':
      case 'string':
        return arg.value
      case 'number':
        return new GoNumber(arg.value, arg.isFloat)
      case 'field':
        return this.evalFieldChain(dot, dot, arg.idents, [arg], MISSING)
      case 'variable':
        return this.evalFieldChain(dot, this.variable(arg.name), arg.idents, [arg], MISSING)
      case 'chain':
        return this.evalFieldChain(dot, this.evalArg(dot, arg.node), arg.idents, [arg], MISSING)
      case 'pipe':
        return this.evalPipeline(dot, arg.pipe)
      case 'identifier':
        return this.evalFunction(dot, arg.name, [], MISSING)
    }
  }

  // --- fields (exec.go, evalFieldChain, evalField)

  private evalFieldChain(dot: GoValue, receiver: GoValue, idents: readonly string[], args: readonly Operand[], final: Final): GoValue {
    let value = receiver
    idents.forEach((name, i) => {
      const last = i === idents.length - 1
      value = this.evalField(name, value, last && (args.length > 1 || final !== MISSING))
    })
    return value
  }

  private evalField(name: string, receiver: GoValue, hasArgs: boolean): GoValue {
    if (receiver === undefined) return undefined
    if (receiver === null) throw new TemplateRuntimeError(`nil pointer evaluating interface {}.${name}`)
    if (hasArgs) throw new TemplateRuntimeError(`${name} is not a method but has arguments`)
    if (receiver instanceof PemEncoded) {
      const field = PemEncoded.FIELDS.find((candidate) => candidate === name)
      if (field) return receiver.fields[field]
    } else if (receiver instanceof SecretValue) {
      const field = SecretValue.FIELDS.find((candidate) => candidate === name)
      if (field) return receiver.field(field)
    } else if (isMap(receiver)) {
      // missingkey=zero: the zero value of interface{}, a nil that prints <no value>.
      return Object.hasOwn(receiver, name) ? (receiver[name] ?? null) : null
    }
    throw new TemplateRuntimeError(`can't evaluate field ${name} in type ${typeName(receiver)}`)
  }

  // --- variables

  private variable(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value
    throw new TemplateRuntimeError(`undefined variable: ${name}`)
  }

  private assign(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i] = { name, value }
        return
      }
    }
    throw new TemplateRuntimeError(`undefined variable: ${name}`)
  }

  // --- functions

  private evalFunction(dot: GoValue, name: string, args: readonly Operand[], final: Final): GoValue {
    if (name === 'and' || name === 'or') return this.evalAndOr(dot, name, args, final)
    if (name === 'secret') return this.secret(args)
    if (name === 'pkiCert') return this.pkiCert(args)
    if (name === 'executeTemplate') return this.executeTemplate(dot, args, final)
    const fn = FUNCTIONS[name]!
    const values = args.map((arg) => this.evalArg(dot, arg))
    if (final !== MISSING) values.push(final)
    if (values.length < fn.minArgs || values.length > fn.maxArgs) {
      const want = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : `at least ${fn.minArgs}`
      throw new TemplateRuntimeError(`wrong number of args for ${name}: want ${want} got ${values.length}`)
    }
    // Charged before the call, so the call that would exceed the budget does not run.
    if (fn.cost) {
      this.functionWork += this.callSafely(name, () => fn.cost!(values)) as number
      this.chargeWork([])
    }
    const result = this.callSafely(name, () => fn.call(values))
    this.chargeWork([...values, result])
    return result
  }

  /** A result too large for a JavaScript string (RangeError) is the template's failure, not a 500. */
  private callSafely<T>(name: string, call: () => T): T {
    try {
      return call()
    } catch (error) {
      if (error instanceof RangeError) throw new TemplateRuntimeError(`${name}: the result would be too large`)
      throw error
    }
  }

  private chargeWork(values: readonly GoValue[]): void {
    for (const value of values) {
      if (typeof value === 'string') this.functionWork += value.length
      else if (Array.isArray(value) || isMap(value)) this.functionWork += Object.keys(value).length
    }
    if (this.functionWork > MAX_TEMPLATE_FUNCTION_WORK) {
      throw new TemplateRuntimeError(`the template's function calls handle more than ${MAX_TEMPLATE_FUNCTION_WORK} characters`)
    }
  }

  /** Go 1.18+: stop at the first false (and) or true (or) argument and return it. */
  private evalAndOr(dot: GoValue, name: 'and' | 'or', args: readonly Operand[], final: Final): GoValue {
    const count = args.length + (final === MISSING ? 0 : 1)
    if (count === 0) throw new TemplateRuntimeError(`wrong number of args for ${name}: want at least 1 got 0`)
    let value: GoValue
    for (const arg of args) {
      value = this.evalArg(dot, arg)
      if (isTrue(value) === (name === 'or')) return value
    }
    return final === MISSING ? value : final
  }

  private secret(args: readonly Operand[]): SecretValue {
    // The parser allows only `secret "literal"`.
    const path = normalizeSecretPath((args[0] as Operand & { type: 'string' }).value)
    const response = this.secrets.get(path)
    if (!response) throw new AppError(500, 'internal', 'A template secret was not read before rendering.', { logReason: `missing secret for template path ${path}` })
    return new SecretValue(response)
  }

  private pkiCert(args: readonly Operand[]): PemEncoded {
    // The parser allows only string literals, and listed the request under this key.
    const key = pkiRequestKey(args.map((arg) => (arg as Operand & { type: 'string' }).value))
    const response = this.certificates.get(key)
    if (!response) throw new AppError(500, 'internal', 'A template certificate was not issued before rendering.', { logReason: 'missing pkiCert response' })
    return new PemEncoded(response)
  }

  private text(span: Span): string {
    return this.source.slice(span.pos, span.end)
  }
}

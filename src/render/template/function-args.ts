// How text/template hands template values to a Go function's typed parameters (exec.go,
// evalArg / validateType): a `string` parameter takes only a string (not json.Number, not nil),
// an `int` only an int, a `[]string` only a []string; `interface{}` takes anything.
import { TemplateRuntimeError } from './template-errors.ts'
import { GoNumber, isJsonNumber, isMap, isStringSlice, jsonNumberText, typeName, type GoMap, type GoValue } from './values.ts'

export interface TemplateFunction {
  minArgs: number
  maxArgs: number
  call(args: GoValue[]): GoValue
  /** Work beyond the characters taken and returned (regexps: their backtracking bound). */
  cost?(args: GoValue[]): number
}

export const fail = (message: string): never => {
  throw new TemplateRuntimeError(message)
}

const wrongType = (expected: string, value: GoValue): never =>
  value === undefined ? fail(`invalid value; expected ${expected}`) : fail(`wrong type for value; expected ${expected}; got ${typeName(value)}`)

export function stringArg(value: GoValue): string {
  return typeof value === 'string' ? value : wrongType('string', value)
}

export function intArg(value: GoValue): number {
  return value instanceof GoNumber && value.type === 'int' ? value.value : wrongType('int', value)
}

export function boolArg(value: GoValue): boolean {
  return typeof value === 'boolean' ? value : wrongType('bool', value)
}

export function stringSliceArg(value: GoValue): string[] {
  return isStringSlice(value) ? value : wrongType('[]string', value)
}

/** A `[]interface {}` parameter: Vault's lists, sprig_list, parseJSON; not split's []string. */
export function listArg(value: GoValue): GoValue[] {
  return Array.isArray(value) && !isStringSlice(value) ? value : wrongType('[]interface {}', value)
}

export function mapArg(value: GoValue): GoMap {
  return isMap(value) ? value : wrongType('map[string]interface {}', value)
}

/** Text of a json.Number or string, for functions whose Go side converts both. */
export const textOf = (value: GoValue): string | undefined => (typeof value === 'string' ? value : isJsonNumber(value) ? jsonNumberText(value) : undefined)

export const fixed = (count: number, call: (args: GoValue[]) => GoValue): TemplateFunction => ({ minArgs: count, maxArgs: count, call })
export const variadic = (minArgs: number, call: (args: GoValue[]) => GoValue, maxArgs = Number.POSITIVE_INFINITY): TemplateFunction => ({ minArgs, maxArgs, call })

export const int = (value: number) => new GoNumber(value, 'int')
export const int64 = (value: number) => {
  if (!Number.isSafeInteger(value)) fail('the integer is beyond ±2^53, which vault-edge templates do not compute with exactly')
  return new GoNumber(value, 'int64')
}
export const float64 = (value: number) => new GoNumber(value, 'float64')

/** Indentation that would build more than this many characters is refused before it is built. */
export const MAX_INDENT_CHARS = 4 * 1024 * 1024

export function checkIndentSize(spaces: number, text: string): void {
  const lines = text.split('\n').length
  if (spaces * lines > MAX_INDENT_CHARS) fail(`indenting ${lines} lines by ${spaces} spaces is more than ${MAX_INDENT_CHARS} characters`)
}

/** Sets an own property, `__proto__` included (a plain assignment would change the prototype). */
export function setEntry(map: GoMap, key: string, value: GoValue): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Parsed documents deeper than this are refused: printing them would overflow the stack. */
export const MAX_PARSED_DEPTH = 200

export function checkDepth(depth: number): void {
  if (depth > MAX_PARSED_DEPTH) fail(`the document is nested deeper than ${MAX_PARSED_DEPTH} levels`)
}

// Every template failure is a 400 that names what is wrong and where (line and column of the
// template source), never a value from a secret.
import { AppError, badRequest } from '../../errors.ts'

export interface SourcePosition {
  line: number
  column: number
}

export function positionOf(source: string, offset: number): SourcePosition {
  const before = source.slice(0, offset)
  const lineStart = before.lastIndexOf('\n') + 1
  return { line: before.split('\n').length, column: offset - lineStart + 1 }
}

const at = (source: string, offset: number) => {
  const { line, column } = positionOf(source, offset)
  return `line ${line}, column ${column}`
}

/** The template is not valid Go text/template syntax. */
export function templateSyntaxError(source: string, offset: number, message: string): AppError {
  return badRequest(`Template syntax error at ${at(source, offset)}: ${message}.`, 'template_syntax')
}

/** Valid for Vault Agent, but outside the subset vault-edge renders (docs/rendering.md). */
export function templateUnsupported(source: string, offset: number, what: string): AppError {
  return badRequest(`${what} is not supported by vault-edge templates (${at(source, offset)}); see docs/rendering.md for the supported subset.`, 'template_unsupported')
}

/** Rendering failed where Vault Agent would fail too (Go text/template execution error). */
export function templateExecutionError(source: string, offset: number, context: string, message: string): AppError {
  return badRequest(`Template error at ${at(source, offset)} in ${context}: ${message}.`, 'template_execution')
}

/** Thrown by functions and value helpers that do not know the position; the evaluator adds it. */
export class TemplateRuntimeError extends Error {
  override readonly name = 'TemplateRuntimeError'
}

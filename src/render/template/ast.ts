// The parse tree of the supported subset of Go's text/template (text/template/parse/node.go).
// Every node keeps its source span for error messages.
import type { PkiRequest } from './pki-request.ts'

export interface Span {
  pos: number
  end: number
}

export type Node = TextNode | ActionNode | IfNode | WithNode | RangeNode | BreakNode | ContinueNode | TemplateNode

export interface TextNode extends Span {
  type: 'text'
  text: string
}

/** `{{ pipeline }}`: prints the value unless the pipeline declares variables. */
export interface ActionNode extends Span {
  type: 'action'
  pipe: Pipeline
}

export interface IfNode extends Span {
  type: 'if'
  pipe: Pipeline
  list: Node[]
  elseList: Node[] | undefined
}

export interface WithNode extends Span {
  type: 'with'
  pipe: Pipeline
  list: Node[]
  elseList: Node[] | undefined
}

export interface RangeNode extends Span {
  type: 'range'
  pipe: Pipeline
  list: Node[]
  elseList: Node[] | undefined
}

export interface BreakNode extends Span {
  type: 'break'
}

export interface ContinueNode extends Span {
  type: 'continue'
}

/** `{{template "name" pipeline}}` (and the call half of `{{block}}`). */
export interface TemplateNode extends Span {
  type: 'template'
  name: string
  pipe: Pipeline | undefined
}

/** `$x := a | b c`: commands joined by `|`, each one's value the last argument of the next. */
export interface Pipeline extends Span {
  isAssign: boolean
  /** Declared (`:=`) or assigned (`=`) variable names, `$` included. */
  decl: string[]
  cmds: Command[]
}

export interface Command extends Span {
  args: Operand[]
}

export type Operand =
  | (Span & { type: 'field'; idents: string[] })
  | (Span & { type: 'variable'; name: string; idents: string[] })
  | (Span & { type: 'chain'; node: Operand; idents: string[] })
  | (Span & { type: 'dot' })
  | (Span & { type: 'identifier'; name: string })
  | (Span & { type: 'pipe'; pipe: Pipeline })
  | (Span & { type: 'string'; value: string })
  | (Span & { type: 'number'; value: number; isFloat: boolean })
  | (Span & { type: 'bool'; value: boolean })
  | (Span & { type: 'nil' })

export interface Template {
  source: string
  nodes: Node[]
  /** `{{define}}` and `{{block}}` bodies by name. */
  defines: Map<string, Node[]>
  /** Every `pkiCert "path" "k=v"…` call, first appearance first. */
  pkiRequests: PkiRequest[]
  /** Vault paths of every `secret "…"` call, normalized, first appearance first. */
  secretPaths: string[]
}

// Vault Agent (consul-template) templates, the subset the Agent Injector examples use
// (SPEC §6, docs/rendering.md). Three steps so the route can do the I/O in between:
// parseTemplate → listSecretPaths → (read each path from Vault) → renderTemplate.
import type { Template } from './ast.ts'
import { execute } from './evaluator.ts'
import { parse } from './parser.ts'
import type { PkiRequest } from './pki-request.ts'
import type { VaultSecretResponse } from './values.ts'

export type { Template } from './ast.ts'
export type { PkiRequest } from './pki-request.ts'
export type { VaultSecretResponse } from './values.ts'
export { MAX_TEMPLATE_FUNCTION_WORK, MAX_TEMPLATE_OUTPUT_CHARS, MAX_TEMPLATE_STEPS } from './evaluator.ts'
export { MAX_TEMPLATE_NESTING } from './parser.ts'

/** Throws a 400 AppError (template_syntax or template_unsupported) naming the problem and its line and column. */
export function parseTemplate(source: string): Template {
  return parse(source)
}

/** The Vault paths the template reads, trimmed of spaces and slashes, in order of first use. */
export function listSecretPaths(template: Template): string[] {
  return [...template.secretPaths]
}

/** The certificates `pkiCert` asks for: issuing path and parameters, each with its `key`. */
export function listPkiRequests(template: Template): PkiRequest[] {
  return [...template.pkiRequests]
}

/**
 * Renders with the responses Vault gave for listSecretPaths(template), keyed by those paths, and
 * the issue responses for listPkiRequests(template), keyed by each request's `key`.
 * Throws 400 template_execution where Vault Agent would fail too, 413 when the output is too long.
 */
export function renderTemplate(
  template: Template,
  secrets: ReadonlyMap<string, VaultSecretResponse>,
  certificates: ReadonlyMap<string, VaultSecretResponse> = new Map(),
): string {
  return execute(template, secrets, certificates)
}

// Every function a vault-edge template may call: Go's builtins, consul-template's helpers and
// the common Sprig functions under consul-template's `sprig_` prefix. `secret`, `pkiCert`, `and`,
// `or` and `executeTemplate` need the evaluator (Vault data, short-circuit, named templates).
import type { TemplateFunction } from './function-args.ts'
import { CONSUL_FUNCTIONS } from './functions-consul.ts'
import { GO_FUNCTIONS } from './functions-go.ts'
import { SPRIG_FUNCTIONS } from './functions-sprig.ts'

export type { TemplateFunction } from './function-args.ts'

export const FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  ...GO_FUNCTIONS,
  ...CONSUL_FUNCTIONS,
  ...Object.fromEntries(Object.entries(SPRIG_FUNCTIONS).map(([name, fn]) => [`sprig_${name}`, fn])),
}

/** Handled by the evaluator itself. */
export const EVALUATOR_FUNCTIONS: ReadonlySet<string> = new Set(['secret', 'pkiCert', 'and', 'or', 'executeTemplate'])

/** Every name a template may call; anything else is template_unsupported. */
export const SUPPORTED_FUNCTIONS: ReadonlySet<string> = new Set([...EVALUATOR_FUNCTIONS, ...Object.keys(FUNCTIONS)])

/**
 * Why a function Vault Agent knows is refused, for the 400's message. The broker is shared by
 * every pod: its environment, files, network neighbours and clock are not a pod's to read.
 */
export function unsupportedReason(name: string): string {
  if (['env', 'mustEnv', 'envOrDefault', 'sprig_env', 'sprig_expandenv'].includes(name)) return 'it would read the broker’s own environment'
  if (['file', 'writeToFile', 'plugin', 'sockaddr'].includes(name)) return 'it would read the broker’s disk, run programs or inspect its network'
  if (['key', 'keyExists', 'keyOrDefault', 'ls', 'safeLs', 'tree', 'safeTree', 'service', 'services', 'node', 'nodes', 'datacenters', 'connect', 'caRoots', 'caLeaf', 'nomadServices', 'nomadService', 'nomadVar', 'nomadVarList', 'nomadVarExists'].includes(name)) {
    return 'it reads Consul or Nomad, which vault-edge does not talk to'
  }
  if (['secrets', 'timestamp', 'sprig_now', 'sprig_date', 'sprig_uuidv4', 'sprig_randAlphaNum', 'sprig_randAlpha', 'sprig_randNumeric', 'sprig_randAscii', 'sprig_randInt'].includes(name)) {
    return 'its result changes from one render to the next (or lists Vault paths), which a cached render cannot reproduce'
  }
  return 'vault-edge does not implement it (see docs/rendering.md for the supported functions)'
}

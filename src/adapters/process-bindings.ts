// Shared by the Node and Deno entries: BROKER_CONFIG from `--config FILE` or the environment,
// and a start-up failure reported as the list of bad fields, not a stack trace.
import { ConfigError, type RawBindings } from '../config.ts'

export function withConfigFile(env: RawBindings, args: string[], readFile: (path: string) => string): RawBindings {
  const index = args.indexOf('--config')
  const inline = args.find((arg) => arg.startsWith('--config='))
  const file = inline ? inline.slice('--config='.length) : index >= 0 ? args[index + 1] : undefined
  if (file === undefined) return env
  return { ...env, BROKER_CONFIG: readFile(file) }
}

export function describeStartupFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message
  return `vault-edge could not start: ${error instanceof Error ? error.name : String(typeof error)}`
}

export const DEFAULT_PORT = 8787

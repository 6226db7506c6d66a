// Shared by the Node and Deno entries: BROKER_CONFIG from `--config FILE` or the environment,
// and a start-up failure reported as the list of bad fields, not a stack trace.
import { ConfigError, type RawBindings } from '../config.ts'

export function withConfigFile(env: RawBindings, args: string[], readFile: (path: string) => string): RawBindings {
  const index = args.indexOf('--config')
  const inline = args.find((arg) => arg.startsWith('--config='))
  const file = inline ? inline.slice('--config='.length) : index >= 0 ? args[index + 1] : undefined
  if (file === undefined || file === '' || file.startsWith('--')) {
    if (index < 0 && !inline) return env
    throw new StartupError('--config needs the path of a BROKER_CONFIG JSON file: --config FILE')
  }
  try {
    return { ...env, BROKER_CONFIG: readFile(file) }
  } catch (error) {
    throw new StartupError(`--config ${file}: ${describeReadFailure(errorCode(error))}`)
  }
}

/** A start-up failure already phrased for the operator: printed as it is, with no stack trace. */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** Node's `code` (ENOENT) or Deno's error class name (NotFound): the two runtimes name errors differently. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.name : String(typeof error)
}

function describeReadFailure(code: string): string {
  if (code === 'ENOENT' || code === 'NotFound') return 'no such file; give the path of a BROKER_CONFIG JSON file (relative to the directory you start in)'
  if (code === 'EISDIR' || code === 'IsADirectory') return 'is a directory; give the path of a BROKER_CONFIG JSON file'
  if (code === 'NotCapable') return 'Deno may not read it; run deno with --allow-read (npm run start:deno does)'
  if (code === 'EACCES' || code === 'EPERM' || code === 'PermissionDenied') return 'not readable by this user (permission denied); fix its mode or owner'
  return `could not be read (${code})`
}

/** Why the server could not listen, naming the variable to change (PORT or HOST). */
export function listenFailure(error: unknown, hostname: string, port: number): StartupError {
  const code = errorCode(error)
  const where = `vault-edge could not listen on ${hostname}:${port}`
  if (code === 'EADDRINUSE' || code === 'AddrInUse') return new StartupError(`${where}: the port is in use by another process; set PORT to a free port, or stop that process`)
  if (code === 'EACCES' || code === 'PermissionDenied') return new StartupError(`${where}: not allowed (ports below 1024 need privileges); set PORT to 1024 or above`)
  if (code === 'EADDRNOTAVAIL' || code === 'AddrNotAvailable') return new StartupError(`${where}: HOST is not an address of this machine; set HOST to one (127.0.0.1, or 0.0.0.0 for every interface)`)
  return new StartupError(`${where}: ${code}`)
}

/** PORT must be a TCP port; Number('80a') is NaN and listen() would pick a random port. */
export function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new StartupError('PORT: must be a TCP port number (0–65535), e.g. PORT=8787')
  return Number(value)
}

export function describeStartupFailure(error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartupError) return error.message
  return `vault-edge could not start: ${errorCode(error)}`
}

export const DEFAULT_PORT = 8787

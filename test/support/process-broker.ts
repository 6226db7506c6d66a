// Runs the broker through its real entry points, as users start it: `npm run start:node`,
// `npm run start:deno` and `npm run dev` (wrangler dev), each on a free port.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hasExited, killOnExit, killProcessGroup } from './child-process.ts'
import { getFreePort } from './free-port.ts'
import { archiveOutput } from './output-archive.ts'

export type BrokerRuntime = 'node' | 'deno' | 'wrangler'

export interface ProcessBroker {
  url: string
  /** Everything the process printed, for assertions that nothing leaks. */
  output(): string
  child: ChildProcess
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 60_000
const BIN = join(process.cwd(), 'node_modules', '.bin')

function command(runtime: BrokerRuntime, port: number, env: Record<string, string>): { file: string; args: string[] } {
  switch (runtime) {
    case 'node':
      return { file: join(BIN, 'node'), args: ['src/adapters/node.ts'] }
    case 'deno':
      return { file: join(BIN, 'deno'), args: ['run', '--allow-net', '--allow-env', '--allow-read', '--no-lock', 'src/adapters/deno.ts'] }
    case 'wrangler': {
      // wrangler dev reads bindings from an env file, not from its own environment.
      const dir = join(process.cwd(), '.tmp', 'wrangler')
      mkdirSync(dir, { recursive: true })
      const envFile = join(dir, `dev-${port}.vars`)
      writeFileSync(envFile, Object.entries(env).map(([name, value]) => `${name}=${singleQuoted(value)}`).join('\n'))
      return {
        file: join(BIN, 'wrangler'),
        args: ['dev', '--ip', '127.0.0.1', '--port', String(port), '--env-file', envFile, '--log-level', 'warn', '--inspector-port', '0'],
      }
    }
  }
}

/** dotenv keeps single-quoted values literally (double quotes would mangle JSON's \"). */
function singleQuoted(value: string): string {
  if (value.includes("'") || value.includes('\n')) throw new Error('env-file values cannot hold a quote or a newline')
  return `'${value}'`
}

/**
 * Resolves once /healthz answers; rejects with the process output when it exits first. With
 * `https` the broker serves TLS_CERT_FILE (set in `env`) and is asked over https://localhost
 * with `https.fetch`, which trusts its CA.
 */
export async function startProcessBroker(runtime: BrokerRuntime, env: Record<string, string>, options: { https?: { fetch: typeof fetch } } = {}): Promise<ProcessBroker> {
  const port = await getFreePort()
  const { file, args } = command(runtime, port, env)
  return spawnServer({
    label: `${runtime} broker`,
    file,
    args,
    url: options.https ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    readyPath: '/healthz',
    fetch: options.https?.fetch,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Node 22 for wrangler and the node entry (node_modules/.bin/node is the `node` package).
      PATH: `${BIN}:${process.env.PATH}`,
      DENO_NO_UPDATE_CHECK: '1',
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
  })
}

/**
 * Spawns a server in its own process group, collects its output, and resolves once
 * `url + readyPath` answers 2xx; rejects with the output when it exits or times out first.
 */
export async function spawnServer(options: {
  label: string
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd?: string
  url: string
  readyPath: string
  /** For the readiness check (default: the global fetch). */
  fetch?: typeof fetch
}): Promise<ProcessBroker> {
  let output = ''
  const child = spawn(options.file, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const unregister = killOnExit(child)
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const stop = async () => {
    unregister()
    archiveOutput(options.label, output)
    await killProcessGroup(child)
  }
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (hasExited(child)) throw new Error(`${options.label} exited (${child.exitCode}):\n${output}`)
    const ready = await (options.fetch ?? fetch)(`${options.url}${options.readyPath}`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
    if (ready) return { url: options.url, output: () => output, child, stop }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await stop()
  throw new Error(`${options.label} did not answer ${options.readyPath} within ${READY_TIMEOUT_MS} ms:\n${output}`)
}

/** Runs an entry point that is expected to refuse to start; resolves with its exit code and output. */
export async function runUntilExit(
  runtime: Exclude<BrokerRuntime, 'wrangler'>,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const { file, args: entryArgs } = command(runtime, 0, env)
  const args = [...entryArgs, ...extraArgs]
  const child = spawn(file, args, { env: { ...process.env, ...env, PATH: `${BIN}:${process.env.PATH}`, DENO_NO_UPDATE_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, output }
}

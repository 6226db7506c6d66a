// Running the k8s/ scripts as a pod would: under dash (`sh`) or busybox ash with busybox's
// own utilities (as in an Alpine or curl image), with a token file standing in for the
// projected volume and the real broker on a free port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasExited, killOnExit, killProcessGroup } from '../support/child-process.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { REPO_ROOT } from './k8s-manifests.ts'

export const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node')
export const SCRIPTS = join(REPO_ROOT, 'k8s', 'scripts')

export type Shell = 'sh' | 'busybox'
export const SHELLS: Shell[] = ['sh', 'busybox']

/** A private temporary directory, removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `vault-edge-k8s-${prefix}-`))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * A directory with every busybox applet plus curl: the PATH of a busybox-based image. Built once
 * under the repository's .tmp/ (git-ignored) and reused: a temp dir removed on process exit was
 * left behind whenever vitest ended its worker without an exit event.
 */
export function busyboxPath(): string {
  const dir = join(REPO_ROOT, '.tmp', 'busybox-bin')
  if (existsSync(join(dir, 'curl'))) return dir
  const applets = spawnSync('busybox', ['--list'], { encoding: 'utf8' })
  if (applets.status !== 0) throw new Error('busybox is not installed (apt-get install busybox)')
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true })
  // Built aside and renamed into place, so test files running at once never see half of it.
  const building = mkdtempSync(join(REPO_ROOT, '.tmp', 'busybox-bin-'))
  for (const applet of applets.stdout.split('\n').filter(Boolean)) symlinkSync('/usr/bin/busybox', join(building, applet))
  symlinkSync(spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim(), join(building, 'curl'))
  try {
    renameSync(building, dir)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another file built it first
  }
  return dir
}

/** argv and environment to run `script` with the given shell. */
export function shellCommand(shell: Shell, args: string[], env: Record<string, string>): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const base = { HOME: process.env.HOME ?? '/root', TMPDIR: env.TMPDIR ?? tmpdir(), LANG: 'C.UTF-8' }
  if (shell === 'busybox') return { file: '/usr/bin/busybox', args: ['sh', ...args], env: { ...base, PATH: busyboxPath(), ...env } }
  return { file: '/bin/sh', args, env: { ...base, PATH: '/usr/local/bin:/usr/bin:/bin', ...env } }
}

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface Running {
  child: ChildProcess
  output: () => { stdout: string; stderr: string }
  exited: Promise<Run>
  stop: () => Promise<void>
}

/** Starts `shell args…` in its own process group (so stop() reaches the app it starts). */
export function start(shell: Shell, args: string[], env: Record<string, string>): Running {
  const command = shellCommand(shell, args, env)
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const unregister = killOnExit(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<Run>((resolve) =>
    child.once('close', (code, signal) => {
      unregister()
      resolve({ code, signal, stdout, stderr })
    }),
  )
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    stop: async () => {
      if (!hasExited(child)) await killProcessGroup(child)
    },
  }
}

export async function run(shell: Shell, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  const running = start(shell, args, env)
  const timer = setTimeout(() => void running.stop(), timeoutMs)
  const result = await running.exited
  clearTimeout(timer)
  return result
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A pod's token, written where the projected volume would put it. */
export async function writePodToken(dir: string, issuerUrl: string, options: { namespace?: string; serviceAccount?: string } = {}): Promise<{ file: string; token: string }> {
  const token = await mintToken(issuerUrl, {
    namespace: options.namespace ?? 'demo',
    serviceAccount: options.serviceAccount ?? 'myapp',
    audiences: [BROKER_AUDIENCE],
    expirationSeconds: 600,
  })
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'token')
  writeFileSync(file, token, { mode: 0o600 })
  return { file, token }
}

/**
 * The broker as the Node entry point (`npm run start:node`), on the shared OpenBao, with a
 * 1 s KV cache so a changed secret shows up at the next refresh.
 */
export async function startDemoBroker(issuerUrl: string, openbaoAddr: string): Promise<ProcessBroker> {
  const config = demoBrokerConfig({ issuerUrl, openbaoAddr, extra: { cache: { kvTtlSeconds: 1, maxStaleSeconds: 3600 } } })
  return await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(config) })
}

/**
 * A program standing in for the app: writes the listed environment variables (JSON) to
 * `out`, then waits for SIGTERM (exit 0) unless told to exit at once.
 */
export function writeEnvDumpApp(dir: string): string {
  const file = join(dir, 'dump-env.mjs')
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs'
const [out, names, mode] = process.argv.slice(2)
const picked = Object.fromEntries(names.split(',').map((name) => [name, process.env[name] ?? null]))
appendFileSync(out, JSON.stringify({ pid: process.pid, env: picked }) + '\\n')
if (mode === 'exit') process.exit(Number(process.env.EXIT_CODE ?? 0))
process.on('SIGTERM', () => process.exit(0))
setInterval(() => {}, 1000)
`,
  )
  chmodSync(file, 0o644)
  return file
}

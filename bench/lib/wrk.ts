// Runs wrk (https://github.com/wg/wrk, Debian's `wrk`) in its own process, pinned to the load
// core, and reads back the one line the Lua `done` hook prints (bench/wrk/report.lua).
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { processTree } from './proc-stat.ts'

export const WRK_SCRIPTS = fileURLToPath(new URL('../wrk/', import.meta.url))

/** The core servers run on, and the one wrk (and everything else of the bench) runs on. */
export const SERVER_CORE = 0
export const LOAD_CORE = 1

export interface WrkResult {
  /** Answers counted. */
  requests: number
  /** Time the answers took: wrk's run, or first request to last answer when a token list ran out. */
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** Pods (login + read) completed, and one pod's p50 when driven one at a time (login-read.lua). */
  pods: number
  podP50Ms: number | undefined
  /** The token list ran out (once=1) and the thread stopped early. */
  exhausted: boolean
}

interface RawResult {
  requests: number
  duration_us: number
  connect_errors: number
  read_errors: number
  write_errors: number
  status_errors: number
  timeouts: number
  p50_us: number
  p99_us: number
  bad_status: number
  bad_cache: number
  responses: number
  exhausted: number
  pods: number
  pod_p50_us: number
  active_us: number
}

/**
 * The `BENCH_RESULT {…}` line of wrk's output, checked: any socket error, timeout, non-2xx (wrk's
 * count), non-200 or wrong X-Cache (the script's count) fails the scenario with the counts.
 */
export function parseWrkOutput(stdout: string, label: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '))
  if (line === undefined) throw new Error(`${label}: wrk printed no BENCH_RESULT line:\n${stdout}`)
  const raw = JSON.parse(line.slice('BENCH_RESULT '.length)) as RawResult
  const problems = [
    ['connect errors', raw.connect_errors],
    ['read errors', raw.read_errors],
    ['write errors', raw.write_errors],
    ['timeouts', raw.timeouts],
    ['non-2xx answers', raw.status_errors],
    ['answers other than 200', raw.bad_status],
    ['answers with the wrong X-Cache', raw.bad_cache],
  ].filter(([, count]) => (count as number) > 0)
  if (problems.length > 0) throw new Error(`${label}: ${problems.map(([what, count]) => `${count} ${what}`).join(', ')} (of ${raw.requests} requests)`)
  if (raw.requests === 0) throw new Error(`${label}: no request was answered`)
  const exhausted = raw.exhausted > 0
  // After a thread stops, wrk still waits out the duration: count the time answers came in.
  const seconds = (exhausted && raw.active_us > 0 ? raw.active_us : raw.duration_us) / 1e6
  return {
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    p50Ms: raw.p50_us / 1000,
    p99Ms: raw.p99_us / 1000,
    pods: raw.pods,
    podP50Ms: raw.pod_p50_us >= 0 ? raw.pod_p50_us / 1000 : undefined,
    exhausted,
  }
}

export interface WrkRun {
  label: string
  url: string
  connections: number
  seconds: number
  /** A file in bench/wrk/. */
  script: 'fixed.lua' | 'tokens.lua' | 'login-read.lua'
  options?: Record<string, string | number>
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
}

/** Pins every thread of `pid` and of its descendants to `core` (`taskset -a -p`); no-op without taskset. */
export function pinProcessTree(pid: number, core: number): void {
  if (!hasTaskset()) return
  for (const member of processTree(pid)) spawnSync('taskset', ['-a', '-c', '-p', String(core), String(member)], { stdio: 'ignore' })
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const wrkArgs = [
    '-t1', `-c${run.connections}`, `-d${Math.max(1, Math.round(run.seconds))}s`, '--timeout', '10s',
    '-s', `${WRK_SCRIPTS}${run.script}`, run.url,
    '--', ...Object.entries(run.options ?? {}).map(([key, value]) => `${key}=${value}`),
  ]
  const [file, args] = hasTaskset() ? ['taskset', ['-c', String(LOAD_CORE), 'wrk', ...wrkArgs]] : ['wrk', wrkArgs]
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`${run.label}: wrk exited with ${code}:\n${stdout}${stderr}`)
  return parseWrkOutput(stdout, run.label)
}

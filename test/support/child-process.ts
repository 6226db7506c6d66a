import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Sends a signal to a detached child's whole process group; a gone group is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to the child's process group (it must be spawned with `detached: true`),
 * SIGKILL after `graceMs`. Resolves once the child has exited.
 */
export async function killProcessGroup(child: ChildProcess, graceMs = 3000): Promise<void> {
  const pid = child.pid
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  signalGroup(pid, 'SIGCONT'); // a paused (SIGSTOP) process would not act on SIGTERM
  signalGroup(pid, 'SIGTERM')
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/**
 * SIGKILLs the child's process group when this process exits without having stopped it
 * (a crash, `process.exit`, a test runner torn down early): detached children would
 * otherwise outlive us. `cleanupSync` runs too (e.g. removing a temp dir). Returns the
 * function that unregisters the hook.
 */
export function killOnExit(child: ChildProcess, cleanupSync?: () => void): () => void {
  const hook = () => {
    if (child.pid !== undefined && !hasExited(child)) signalGroup(child.pid, 'SIGKILL')
    try {
      cleanupSync?.()
    } catch {
      // best effort while exiting
    }
  }
  exitHooks.add(hook)
  if (exitHooks.size === 1) process.once('exit', runExitHooks)
  return () => {
    exitHooks.delete(hook)
    if (exitHooks.size === 0) process.removeListener('exit', runExitHooks)
  }
}

// One 'exit' listener for every child, not one each: a test file starting more than ten
// brokers otherwise drew Node's MaxListenersExceededWarning.
const exitHooks = new Set<() => void>()
function runExitHooks(): void {
  for (const hook of exitHooks) hook()
  exitHooks.clear()
}

const FREEZE_WAIT_MS = 1000

/**
 * SIGSTOP to the process group, then waits until every thread of `pid` is stopped: kill()
 * returns before a multi-threaded server's threads have all stopped, and in that window it can
 * still answer a request (seen with OpenBao). Linux /proc; elsewhere it only signals.
 */
export function freezeGroup(pid: number): void {
  signalGroup(pid, 'SIGSTOP')
  const deadline = Date.now() + FREEZE_WAIT_MS
  const stopped = () => {
    try {
      // The state is the field after the parenthesised command name: T (stopped) or t (traced).
      return readdirSync(`/proc/${pid}/task`).every((tid) => /\) [Tt] /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')))
    } catch {
      return true // gone, or no /proc
    }
  }
  while (!stopped() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
}

/**
 * The output of a child once `pattern` appears in it. A child's line written before it answered
 * reaches this process through a pipe, which may deliver it after the answer: wait, don't assume.
 */
export async function outputOnceItShows(output: () => string, pattern: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const shows = () => (typeof pattern === 'string' ? output().includes(pattern) : pattern.test(output()))
  for (const started = Date.now(); !shows() && Date.now() - started < timeoutMs; ) await new Promise((resolve) => setTimeout(resolve, 25))
  return output()
}

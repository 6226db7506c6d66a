// CPU time of a process and its descendants from Linux /proc (proc(5): /proc/<pid>/stat fields
// 14 utime and 15 stime, in clock ticks), so the bench can divide a server's CPU by the
// requests it answered. Hand-written: no npm package reads these two fields without native code.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcStat {
  pid: number
  ppid: number
  /** utime + stime, in clock ticks. */
  cpuTicks: number
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself
 * hold spaces and `)`, so fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`)
  const pid = Number(text.slice(0, open).trim())
  // After ")": field 3 (state) is index 0, so field N is index N - 3.
  const fields = text.slice(close + 1).trim().split(/\s+/)
  const ppid = Number(fields[4 - 3])
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  if (![pid, ppid, utime, stime].every(Number.isInteger)) throw new Error(`unexpected /proc/<pid>/stat line: ${text.slice(0, 80)}`)
  return { pid, ppid, cpuTicks: utime + stime }
}

/** Sum of cpuTicks of `root` and every descendant of it among `stats`. */
export function treeCpuTicks(stats: ProcStat[], root: number): number {
  const children = new Map<number, ProcStat[]>()
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat])
  const self = stats.find((stat) => stat.pid === root)
  if (self === undefined) throw new Error(`process ${root} is gone`)
  let total = 0
  const pending = [self]
  while (pending.length > 0) {
    const stat = pending.pop()!
    total += stat.cpuTicks
    pending.push(...(children.get(stat.pid) ?? []))
  }
  return total
}

let ticksPerSecond: number | undefined

/** sysconf(_SC_CLK_TCK), 100 on every Linux we know of; asked once from getconf. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const answer = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim())
    ticksPerSecond = Number.isInteger(answer) && answer > 0 ? answer : 100
  }
  return ticksPerSecond
}

function readAllStats(): ProcStat[] {
  const stats: ProcStat[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      stats.push(parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8')))
    } catch {
      // exited between readdir and read
    }
  }
  return stats
}

/** CPU seconds (user + system) used so far by `pid` and its descendants. */
export function processTreeCpuSeconds(pid: number): number {
  return treeCpuTicks(readAllStats(), pid) / clockTicksPerSecond()
}

/** Every pid in the tree under `root` (itself included), for pinning a server and its helpers. */
export function processTree(root: number): number[] {
  const stats = readAllStats()
  const tree = [root]
  for (let i = 0; i < tree.length; i++) tree.push(...stats.filter((stat) => stat.ppid === tree[i]).map((stat) => stat.pid))
  return tree
}

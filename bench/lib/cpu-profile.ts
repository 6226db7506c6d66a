// The functions a `.cpuprofile` (V8's format, written by `node --cpu-prof`) spent the most self
// time in: each sample is attributed to its node, and nodes of one function are summed.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[]
  samples?: number[]
  timeDeltas?: number[]
  startTime: number
  endTime: number
}

export interface SelfTime {
  /** `functionName (file:line)`, the file relative to the repository where it is inside it. */
  name: string
  selfMs: number
  /** Share of the profile's busy time (idle excluded). */
  percent: number
}

/** V8's pseudo-frames that are not work. */
const IDLE = new Set(['(idle)', '(program)'])

/**
 * `window`: only samples taken between these two timestamps (µs of the monotonic clock, as the
 * profile's own `startTime` and `process.hrtime` use on Linux), so start-up is left out.
 */
export function topSelfTime(profile: CpuProfile, limit: number, options: { repositoryUrl?: string; window?: { fromUs: number; toUs: number }; by?: 'function' | 'area' } = {}): SelfTime[] {
  const repositoryUrl = options.repositoryUrl ?? ''
  const byNode = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  if (samples.length > 0) {
    // timeDeltas[i] is the time before sample i; the time a sample stands for is the gap after it.
    let at = profile.startTime
    for (let i = 0; i < samples.length; i++) {
      at += deltas[i] ?? 0
      if (options.window && (at < options.window.fromUs || at > options.window.toUs)) continue
      const micros = deltas[i + 1] ?? (profile.endTime - profile.startTime) / samples.length
      byNode.set(samples[i]!, (byNode.get(samples[i]!) ?? 0) + Math.max(0, micros))
    }
  } else {
    const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0)
    const perHit = total > 0 ? (profile.endTime - profile.startTime) / total : 0
    for (const node of profile.nodes) byNode.set(node.id, (node.hitCount ?? 0) * perHit)
  }
  const byFunction = new Map<string, number>()
  let busy = 0
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0
    const { functionName, url, lineNumber } = node.callFrame
    if (micros === 0 || IDLE.has(functionName)) continue
    const file = url.startsWith(repositoryUrl) && repositoryUrl !== '' ? url.slice(repositoryUrl.length) : url
    const name = options.by === 'area' ? areaOf(file, functionName) : file === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} (${file}:${lineNumber + 1})`
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
    busy += micros
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => ({ name, selfMs: micros / 1000, percent: busy > 0 ? (100 * micros) / busy : 0 }))
}

/**
 * Where a function lives, coarser than the function: a file of the repository, a package of
 * node_modules, Node's own JavaScript, or the native function itself (`writev`, the garbage
 * collector), which has no file. A miss spreads its time thinly; summed this way it shows which
 * part of the code to look at.
 */
export function areaOf(file: string, functionName: string): string {
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)
  if (pkg !== null) return `package ${pkg[1]}`
  if (file.startsWith('node:')) return "Node's built-in JavaScript"
  if (file === '') return `native: ${functionName || '(anonymous)'}`
  return file
}

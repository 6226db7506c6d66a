// What `npm run bench` writes: bench/results.md (every measurement, the issue's targets as ratios
// of the same run with pass/miss and by how much, the profile), and the table README.md shows.
// Pure functions of the measurements, so they are tested without running a benchmark.
import type { SelfTime } from './cpu-profile.ts'

export type ScenarioId =
  | 'node-http'
  | 'hono'
  | 'hono-secret'
  | 'healthz'
  | 'cached-one-sa'
  | 'cached-new-token'
  | 'cached-many-sa'
  | 'cached-redis'
  | 'direct'
  | 'miss'

export interface Measurement {
  id: ScenarioId
  /** `Node`, `Deno`; `OpenBao` for the direct baseline. */
  runtime: string
  label: string
  /** At 32 connections: req/s, or pods/s for the direct baseline (2 requests each). */
  rate: number
  unit: 'req/s' | 'pods/s'
  p50Ms: number
  p99Ms: number
  /** p50 one request (one pod, for direct) at a time. */
  serialP50Ms: number
  /** CPU of the server under test per request (per pod for direct), from /proc. */
  cpuUs?: number
  /** OpenBao's CPU per request of this scenario (miss, direct), from /proc. */
  openBaoCpuUs?: number
  requests: number
}

export interface Target {
  runtime: string
  name: string
  required: string
  measured: string
  pass: boolean
  /** How far off a missed target is; empty when it passes. */
  shortfall: string
  /** For a CPU target: the limit and the figure, in µs (for cpuAtIssueMachineSpeed). */
  cpu?: { maximumUs: number; measuredUs: number }
}

/** Two decimals, three below 0.1 (so 0.004× does not read as 0.00×). */
export const fmtRatio = (value: number) => `${value.toFixed(value < 0.1 ? 3 : 2)}×`
const fmtInt = (value: number) => Math.round(value).toLocaleString('en-US')
export const fmtMs = (value: number) => (value < 1 ? `${value.toFixed(2)} ms` : value < 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(0)} ms`)

function find(measurements: Measurement[], runtime: string, id: ScenarioId): Measurement | undefined {
  return measurements.find((m) => m.runtime === runtime && m.id === id)
}

/** Issue 9's table names one Hono ceiling: Hono answering a fixed JSON on @hono/node-server. */
export const HONO_CEILING = 'the Hono ceiling (Hono on @hono/node-server)'

function rateRatio(measurement: Measurement, hono: Measurement | undefined): number | undefined {
  return hono === undefined || measurement.unit !== 'req/s' ? undefined : measurement.rate / hono.rate
}

/** req/s of a scenario ÷ req/s of the Hono ceiling (Node's Hono row), whatever its runtime: what the rate targets use. */
export function honoCeilingRatio(measurements: Measurement[], measurement: Measurement): number | undefined {
  return rateRatio(measurement, find(measurements, 'Node', 'hono'))
}

/** req/s of a scenario ÷ req/s of Hono on the same runtime (on Deno: Hono on Deno.serve); for information. */
export function sameRuntimeHonoRatio(measurements: Measurement[], measurement: Measurement): number | undefined {
  return rateRatio(measurement, find(measurements, measurement.runtime, 'hono'))
}

/** A small excess in per cent: one decimal, or two significant digits under 0.1 % (not "0.0 %"). */
const percent = (fraction: number) => (fraction * 100 < 0.1 ? `${(fraction * 100).toPrecision(2)} %` : `${(fraction * 100).toFixed(1)} %`)

/**
 * By how much a minimum is missed: a multiple, or in per cent when under 1.1× (so it does not read
 * as "1.0× short"); a figure that rounds to the target gets more decimals, so it does not read as
 * "needs 0.35×, has 0.35×".
 */
function shortOf(minimum: number, measured: number, show: (n: number) => string): string {
  const has = show(measured) !== show(minimum) ? show(measured) : `${measured.toFixed(4)}×`
  const by = minimum / measured < 1.1 ? percent(minimum / measured - 1) : `${(minimum / measured).toFixed(1)}×`
  return `${by} short (needs ${show(minimum)}, has ${has})`
}

function atLeast(runtime: string, name: string, measured: number | undefined, minimum: number, show: (n: number) => string): Target | undefined {
  if (measured === undefined) return undefined
  const pass = measured >= minimum
  return {
    runtime, name, required: `≥ ${show(minimum)}`, measured: pass || show(measured) !== show(minimum) ? show(measured) : `${measured.toFixed(4)}×`, pass,
    shortfall: pass ? '' : shortOf(minimum, measured, show),
  }
}

function cpuAtMost(runtime: string, name: string, measured: number | undefined, maximum: number, unit: string): Target | undefined {
  if (measured === undefined) return undefined
  const pass = measured <= maximum
  return {
    runtime, name, required: `≤ ${fmtInt(maximum)} ${unit}`, measured: `${fmtInt(measured)} ${unit}`, pass, cpu: { maximumUs: maximum, measuredUs: measured },
    shortfall: pass ? '' : `${measured / maximum < 1.1 ? percent(measured / maximum - 1) : `${(measured / maximum).toFixed(1)}×`} over (${fmtInt(measured - maximum)} ${unit} too many)`,
  }
}

/**
 * The fast path's targets (issue 9), per broker runtime, from one run's measurements. The rate
 * targets of every runtime are ratios to the issue's one Hono ceiling, Hono on @hono/node-server;
 * without that row they are left out.
 */
export function evaluateTargets(measurements: Measurement[]): Target[] {
  const runtimes = [...new Set(measurements.filter((m) => m.id === 'cached-one-sa').map((m) => m.runtime))]
  const direct = measurements.find((m) => m.id === 'direct')
  const targets: (Target | undefined)[] = []
  for (const runtime of runtimes) {
    const oneSa = find(measurements, runtime, 'cached-one-sa')!
    const manySa = find(measurements, runtime, 'cached-many-sa')
    const newToken = find(measurements, runtime, 'cached-new-token')
    const miss = find(measurements, runtime, 'miss')
    targets.push(
      atLeast(runtime, `cached read, 1,000 tokens of one ServiceAccount, vs ${HONO_CEILING}`, honoCeilingRatio(measurements, oneSa), 0.35, fmtRatio),
      manySa && atLeast(runtime, `${manySa.label} vs ${HONO_CEILING}`, honoCeilingRatio(measurements, manySa), 0.25, fmtRatio),
      direct && atLeast(runtime, 'p50 one at a time: direct login + read ÷ cached read', direct.serialP50Ms / oneSa.serialP50Ms, 6, fmtRatio),
      cpuAtMost(runtime, 'broker CPU per cached read', oneSa.cpuUs, 150, 'µs'),
      cpuAtMost(runtime, 'broker CPU per cached read, token new', newToken?.cpuUs, 300, 'µs'),
      miss && cpuAtMost(runtime, `broker CPU per miss (OpenBao's own: ${miss.openBaoCpuUs === undefined ? '?' : `${fmtInt(miss.openBaoCpuUs)} µs`})`, miss.cpuUs, 1500, 'µs'),
    )
  }
  return targets.filter((t): t is Target => t !== undefined)
}

/** The issue's machine: its Hono ceiling on @hono/node-server, in req/s (issue 9's table). */
export const ISSUE_HONO_CEILING_RPS = 14_718

/**
 * The CPU targets are absolute µs, fixed on the issue's machine, while the ratio targets hold on
 * any machine. So a fast machine can meet them with work that would miss them there: this says
 * what each CPU figure of the run comes to at the issue's machine speed, scaled by the two Node
 * Hono ceilings (a machine twice as fast serves the ceiling twice as fast).
 */
export function cpuAtIssueMachineSpeed(measurements: Measurement[], targets: Target[]): string | undefined {
  const ceiling = find(measurements, 'Node', 'hono')
  if (ceiling === undefined) return undefined
  const factor = ceiling.rate / ISSUE_HONO_CEILING_RPS
  const rows = targets.flatMap(({ runtime, name, cpu }) => {
    if (cpu === undefined) return []
    const scaled = cpu.measuredUs * factor
    return [`${runtime} ${name.replace(/ \(.*\)$/, '')}: ${fmtInt(scaled)} µs (${scaled <= cpu.maximumUs ? 'within' : 'over'} ${fmtInt(cpu.maximumUs)})`]
  })
  return (
    `The CPU targets are in µs of the issue's machine. This run's Node Hono ceiling served ${fmtInt(ceiling.rate)} req/s against that machine's ${fmtInt(ISSUE_HONO_CEILING_RPS)}: ` +
    `this machine is ${factor.toFixed(1)}× as fast, so at the issue's machine speed the CPU figures would be about: ${rows.join('; ')}. ` +
    'A rough scale: not every kind of work (JavaScript, system calls, RSA) speeds up alike between two machines.'
  )
}

/**
 * The measurements as one markdown table (results.md and README.md). Two ratios: to the Hono
 * ceiling the targets use, and to Hono on the row's own runtime, so neither reading is hidden.
 */
export function measurementTable(measurements: Measurement[]): string {
  const ratio = (value: number | undefined) => (value === undefined ? '' : fmtRatio(value))
  const rows = measurements.map(
    (m) =>
      `| ${m.runtime} | ${m.label} | ${fmtInt(m.rate)} ${m.unit} | ${ratio(honoCeilingRatio(measurements, m))} | ${ratio(sameRuntimeHonoRatio(measurements, m))} | ${fmtMs(m.p50Ms)} | ${fmtMs(m.p99Ms)} | ${fmtMs(m.serialP50Ms)} | ${m.cpuUs === undefined ? '' : fmtInt(m.cpuUs)}${m.openBaoCpuUs === undefined ? '' : ` (+ OpenBao ${fmtInt(m.openBaoCpuUs)})`} |`,
  )
  return [
    '| runtime | case | rate, 32 conns | vs Hono ceiling | vs Hono on the same runtime | p50, 32 conns | p99, 32 conns | p50, one at a time | server CPU µs per request |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}

export function targetTable(targets: Target[]): string {
  return [
    '| runtime | target | required | measured | result |',
    '|---|---|---|---|---|',
    ...targets.map((t) => `| ${t.runtime} | ${t.name} | ${t.required} | ${t.measured} | ${t.pass ? 'pass' : `**miss**: ${t.shortfall}`} |`),
  ].join('\n')
}

export interface RunInfo {
  date: string
  quick: boolean
  /** e.g. "server on core 0, wrk and everything else on core 1" or "not pinned (no taskset)". */
  pinning: string
  cores: number
  versions: Record<string, string>
  secretBytes: number
  loadSeconds: number
  serialSeconds: number
  notes: string[]
}

/** A `node --cpu-prof` run of one case: top functions and the same time summed by area (cpu-profile.ts). */
export interface CaseProfile {
  runtime: 'Node' | 'Deno'
  scenario: string
  requests: number
  top: SelfTime[]
  areas: SelfTime[]
}

/** One decimal below 10 µs: most functions of a cached read take a few µs each. */
const fmtMicros = (value: number) => (value < 10 ? value.toFixed(1) : fmtInt(value))

function selfTimeTable(rows: SelfTime[], requests: number, first: string): string[] {
  return [
    `| ${first} | self time | per request | share |`,
    '|---|---|---|---|',
    ...rows.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.selfMs.toFixed(0)} ms | ${fmtMicros((f.selfMs * 1000) / requests)} µs | ${f.percent.toFixed(1)} % |`),
  ]
}

function profileSection(profile: CaseProfile): string[] {
  return [
    `## Where the ${profile.runtime} broker spends its CPU: ${profile.scenario}`,
    '',
    profile.runtime === 'Node'
      ? `\`node --cpu-prof\` over ${fmtInt(profile.requests)} requests at 32 connections (start-up and warm-up left out), top functions by self time (idle excluded):`
      : `Deno's inspector profiler (the DevTools protocol; Deno has no --cpu-prof) over ${fmtInt(profile.requests)} requests at 32 connections, top functions by self time (idle excluded). The inspector slows Deno down, so the µs are larger than without it; the shares hold. Time spent in Deno's Rust (the HTTP server, ops) shows as the op that called it or not at all:`,
    '',
    ...selfTimeTable(profile.top, profile.requests, 'function'),
    '',
    'The same samples summed by where the code lives:',
    '',
    ...selfTimeTable(profile.areas, profile.requests, 'area'),
    '',
  ]
}

export function renderResults(options: { info: RunInfo; measurements: Measurement[]; targets: Target[]; chartFile: string; profiles?: CaseProfile[] }): string {
  const { info, measurements, targets, profiles = [] } = options
  const missed = targets.filter((t) => !t.pass)
  const scaledCpu = cpuAtIssueMachineSpeed(measurements, targets)
  return [
    '# `npm run bench` results',
    '',
    `Written by \`npm run bench${info.quick ? ' -- --quick' : ''}\` on ${info.date}; do not edit by hand.${info.quick ? ' **Quick run**: short, small pools; not for the record.' : ''}`,
    '',
    `${info.cores} cores; ${info.pinning}. ${Object.entries(info.versions).map(([name, version]) => `${name} ${version}`).join(', ')}. ` +
      `wrk -t1, ${info.loadSeconds} s at 32 connections, then ${info.serialSeconds} s at 1 connection per case. ` +
      `Secret of 8 keys read as \`?format=env\`: ${fmtInt(info.secretBytes)} bytes. Every answer of every case was checked ` +
      '(no socket error, no non-2xx; 200 and the expected `X-Cache` on every broker read).',
    '',
    `![req/s vs the Hono ceiling](${options.chartFile})`,
    '',
    measurementTable(measurements),
    '',
    '## Targets, as ratios of this run',
    '',
    targetTable(targets),
    '',
    missed.length === 0 ? 'Every target is met.' : `${missed.length} of ${targets.length} targets missed; the shortfall is in the last column.`,
    '',
    ...(scaledCpu === undefined ? [] : [scaledCpu, '']),
    ...profiles.flatMap(profileSection),
    '## How it was measured',
    '',
    ...info.notes.map((note) => `- ${note}`),
    '',
  ].join('\n')
}

/** Replaces what lies between `<!-- bench:start -->` and `<!-- bench:end -->` in README.md. */
export function replaceMarkedSection(readme: string, content: string): string {
  const start = '<!-- bench:start -->'
  const end = '<!-- bench:end -->'
  const from = readme.indexOf(start)
  const to = readme.indexOf(end)
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`)
  return `${readme.slice(0, from + start.length)}\n${content.trim()}\n${readme.slice(to)}`
}

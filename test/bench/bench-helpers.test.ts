// The pure parts of `npm run bench` (bench/lib/): what it reads from /proc, from wrk and from a
// CPU profile, and what it writes (targets, results.md, README section, SVG chart).
import { describe, expect, it } from 'vitest'
import { areaOf, topSelfTime, type CpuProfile } from '../../bench/lib/cpu-profile.ts'
import { parseProcStat, processTreeCpuSeconds, treeCpuTicks } from '../../bench/lib/proc-stat.ts'
import { cpuAtIssueMachineSpeed, evaluateTargets, fmtRatio, measurementTable, renderResults, replaceMarkedSection, type Measurement } from '../../bench/lib/report.ts'
import { escapeXml, renderBarChart } from '../../bench/lib/svg-chart.ts'
import { parseWrkOutput } from '../../bench/lib/wrk.ts'

describe('parseProcStat', () => {
  it('reads ppid and utime + stime after a command name holding spaces and parentheses', () => {
    const line = '4242 (node (worker) x) S 17 4242 4242 0 -1 4194560 1200 0 0 0 350 45 0 0 20 0 11 0 2500 1000000 5000 18446744073709551615'
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 17, cpuTicks: 395 })
  })

  it('refuses a line that is not /proc/<pid>/stat', () => {
    expect(() => parseProcStat('not a stat line')).toThrow(/not a \/proc/)
    expect(() => parseProcStat('1 (x) S 0 1 1')).toThrow(/unexpected/)
  })

  it('sums a process and its descendants, not its parent or siblings', () => {
    const stats = [
      { pid: 1, ppid: 0, cpuTicks: 1000 },
      { pid: 10, ppid: 1, cpuTicks: 5 },
      { pid: 11, ppid: 10, cpuTicks: 7 },
      { pid: 12, ppid: 11, cpuTicks: 2 },
      { pid: 20, ppid: 1, cpuTicks: 300 },
    ]
    expect(treeCpuTicks(stats, 10)).toBe(14)
    expect(() => treeCpuTicks(stats, 99)).toThrow(/gone/)
  })

  it('reads this very process from /proc, and the count only grows', () => {
    const before = processTreeCpuSeconds(process.pid)
    let x = 0
    for (let i = 0; i < 2e7; i++) x += i % 7
    expect(x).toBeGreaterThan(0)
    expect(processTreeCpuSeconds(process.pid)).toBeGreaterThanOrEqual(before)
    expect(before).toBeGreaterThan(0)
  })
})

const clean = {
  requests: 6000, duration_us: 3_000_000, connect_errors: 0, read_errors: 0, write_errors: 0, status_errors: 0, timeouts: 0,
  p50_us: 1500, p99_us: 9000, bad_status: 0, bad_cache: 0, responses: 6000, exhausted: 0, pods: 0, pod_p50_us: -1, active_us: 2_999_000,
}
const wrkOutput = (fields: Partial<typeof clean>) => `Running 3s test\n  1 threads and 32 connections\nBENCH_RESULT ${JSON.stringify({ ...clean, ...fields })}\nRequests/sec: 2000\n`

describe('parseWrkOutput', () => {
  it('turns the done-hook line into rate and latencies', () => {
    expect(parseWrkOutput(wrkOutput({}), 'case')).toEqual({ requests: 6000, seconds: 3, rps: 2000, p50Ms: 1.5, p99Ms: 9, pods: 0, podP50Ms: undefined, exhausted: false })
  })

  it('counts the time answers came in when the token pool ran out', () => {
    const result = parseWrkOutput(wrkOutput({ exhausted: 1, requests: 1000, active_us: 500_000 }), 'case')
    expect(result.seconds).toBe(0.5)
    expect(result.rps).toBe(2000)
    expect(result.exhausted).toBe(true)
  })

  it.each([
    [{ status_errors: 3 }, /3 non-2xx answers/],
    [{ bad_status: 2 }, /2 answers other than 200/],
    [{ bad_cache: 1 }, /1 answers with the wrong X-Cache/],
    [{ timeouts: 4, read_errors: 1 }, /1 read errors, 4 timeouts/],
    [{ connect_errors: 32 }, /32 connect errors/],
    [{ requests: 0 }, /no request was answered/],
  ])('fails the case on %o', (fields, message) => {
    expect(() => parseWrkOutput(wrkOutput(fields), 'Node, cached read')).toThrow(message)
  })

  it('fails when wrk printed no result line', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n', 'case')).toThrow(/no BENCH_RESULT/)
  })
})

const m = (fields: Partial<Measurement> & Pick<Measurement, 'id' | 'runtime' | 'rate'>): Measurement => ({
  label: fields.id, unit: 'req/s', p50Ms: 1, p99Ms: 2, serialP50Ms: 1, requests: 1000, ...fields,
})

describe('evaluateTargets', () => {
  const measurements = [
    m({ id: 'hono', runtime: 'Node', rate: 10_000 }),
    m({ id: 'cached-one-sa', runtime: 'Node', rate: 5000, serialP50Ms: 0.5, cpuUs: 120 }),
    m({ id: 'cached-new-token', runtime: 'Node', rate: 3000, cpuUs: 450 }),
    m({ id: 'cached-many-sa', runtime: 'Node', rate: 2000, label: 'cached read across 1,000 ServiceAccounts' }),
    m({ id: 'miss', runtime: 'Node', rate: 100, cpuUs: 1400, openBaoCpuUs: 2000 }),
    m({ id: 'direct', runtime: 'OpenBao', rate: 300, unit: 'pods/s', serialP50Ms: 4 }),
  ]
  const targets = evaluateTargets(measurements)

  it('checks every target of the issue once per broker runtime', () => {
    expect(targets.map((t) => [t.runtime, t.pass])).toEqual([
      ['Node', true], // 0.5× ≥ 0.35×
      ['Node', false], // 0.2× < 0.25×
      ['Node', true], // 4 / 0.5 = 8× ≥ 6×
      ['Node', true], // 120 ≤ 150 µs
      ['Node', false], // 450 > 300 µs
      ['Node', true], // 1,400 ≤ 1,500 µs
    ])
  })

  it('names the one Hono ceiling the rate targets use', () => {
    expect(targets[0]!.name).toBe('cached read, 1,000 tokens of one ServiceAccount, vs the Hono ceiling (Hono on @hono/node-server)')
    expect(targets[1]!.name).toBe('cached read across 1,000 ServiceAccounts vs the Hono ceiling (Hono on @hono/node-server)')
  })

  it("judges Deno's rate targets against Hono on @hono/node-server, not Hono on Deno.serve", () => {
    const deno = evaluateTargets([
      m({ id: 'hono', runtime: 'Node', rate: 10_000 }),
      m({ id: 'hono', runtime: 'Deno', rate: 50_000 }),
      m({ id: 'cached-one-sa', runtime: 'Deno', rate: 4000 }),
      m({ id: 'cached-many-sa', runtime: 'Deno', rate: 3000 }),
    ])
    // 0.08× and 0.06× of Hono on Deno.serve; 0.40× and 0.30× of the ceiling.
    expect(deno.map((t) => [t.runtime, t.measured, t.pass])).toEqual([['Deno', '0.40×', true], ['Deno', '0.30×', true]])
  })

  it("misses Deno's rate targets under the Hono ceiling's share, though they would pass against Hono on Deno.serve", () => {
    const deno = evaluateTargets([
      m({ id: 'hono', runtime: 'Node', rate: 10_000 }),
      m({ id: 'hono', runtime: 'Deno', rate: 5000 }),
      m({ id: 'cached-one-sa', runtime: 'Deno', rate: 3000 }),
      m({ id: 'cached-many-sa', runtime: 'Deno', rate: 2000 }),
    ])
    // 0.60× and 0.40× of Hono on Deno.serve; 0.30× and 0.20× of the ceiling.
    expect(deno.map((t) => [t.runtime, t.pass, t.shortfall])).toEqual([
      ['Deno', false, '1.2× short (needs 0.35×, has 0.30×)'],
      ['Deno', false, '1.3× short (needs 0.25×, has 0.20×)'],
    ])
  })

  it('leaves the rate targets out without a Node Hono row, even when the runtime has its own', () => {
    const deno = evaluateTargets([
      m({ id: 'hono', runtime: 'Deno', rate: 10_000 }),
      m({ id: 'cached-one-sa', runtime: 'Deno', rate: 5000, cpuUs: 100 }),
      m({ id: 'cached-many-sa', runtime: 'Deno', rate: 5000 }),
    ])
    expect(deno.map((t) => t.name)).toEqual(['broker CPU per cached read'])
  })

  it('shows small ratios with a third decimal rather than as zero', () => {
    expect(fmtRatio(0.0034)).toBe('0.003×')
    expect(fmtRatio(0.35)).toBe('0.35×')
  })

  it('says by how much a target is missed', () => {
    expect(targets[1]!.shortfall).toBe('1.3× short (needs 0.25×, has 0.20×)')
    // A miss that rounds to the target says by how much in per cent.
    const close = evaluateTargets([m({ id: 'hono', runtime: 'Node', rate: 10_000 }), m({ id: 'cached-one-sa', runtime: 'Node', rate: 3_460 })])[0]!
    expect(close).toMatchObject({ pass: false, measured: '0.3460×', shortfall: '1.2 % short (needs 0.35×, has 0.3460×)' })
    // A miss under 0.1 % in two significant digits, not "0.0 %" (the run of 2026-12-03 said that of 0.3499×).
    const hair = evaluateTargets([m({ id: 'hono', runtime: 'Node', rate: 100_000 }), m({ id: 'cached-one-sa', runtime: 'Node', rate: 34_990 })])[0]!
    expect(hair).toMatchObject({ pass: false, measured: '0.3499×', shortfall: '0.029 % short (needs 0.35×, has 0.3499×)' })
    // Under 1.1× short or over: in per cent, not "1.0×".
    const near = evaluateTargets([m({ id: 'hono', runtime: 'Node', rate: 10_000 }), m({ id: 'cached-one-sa', runtime: 'Node', rate: 3_386, cpuUs: 155 })])
    expect(near[0]).toMatchObject({ pass: false, measured: '0.34×', shortfall: '3.4 % short (needs 0.35×, has 0.34×)' })
    expect(near.find((t) => t.name === 'broker CPU per cached read')).toMatchObject({ pass: false, shortfall: '3.3 % over (5 µs too many)' })
    expect(targets[4]!.shortfall).toBe('1.5× over (150 µs too many)')
    expect(targets[5]!.name).toContain("OpenBao's own: 2,000 µs")
    // A CPU target carries its limit and figure, for the scaling to the issue's machine.
    expect(targets.slice(3, 6).map((t) => t.cpu)).toEqual([{ maximumUs: 150, measuredUs: 120 }, { maximumUs: 300, measuredUs: 450 }, { maximumUs: 1500, measuredUs: 1400 }])
    expect(targets[0]!.cpu).toBeUndefined()
  })

  it('says what the CPU figures come to at the speed of the issue\'s machine', () => {
    // The Node Hono ceiling ran 10,000 req/s here against 14,718 there: this machine is 0.68× as
    // fast, so 120 µs of CPU here is about 120 × 10,000 / 14,718 ≈ 82 µs there.
    const text = cpuAtIssueMachineSpeed(measurements, targets)!
    expect(text).toContain('0.7× as fast')
    expect(text).toContain('Node broker CPU per cached read: 82 µs (within 150)')
    expect(text).toContain('Node broker CPU per cached read, token new: 306 µs (over 300)')
    expect(text).toContain('Node broker CPU per miss: 951 µs (within 1,500)')
  })

  it('writes results.md with the measurements, the targets and the profile', () => {
    const markdown = renderResults({
      info: { date: '2026-12-02T06:00:00Z', quick: false, pinning: 'pinned', cores: 2, versions: { Node: 'v22' }, secretBytes: 3400, loadSeconds: 6, serialSeconds: 3, notes: ['a note'] },
      measurements,
      targets,
      chartFile: 'results.svg',
      profiles: [{ runtime: 'Node', scenario: 'cached read', requests: 1000, top: [{ name: 'digest (src/x.ts:3)', selfMs: 120, percent: 30 }, { name: 'hash', selfMs: 1.26, percent: 0.3 }], areas: [{ name: 'package hono', selfMs: 200, percent: 50 }] }, { runtime: 'Deno', scenario: 'cached read', requests: 500, top: [], areas: [] }],
    })
    expect(markdown).toContain('| Node | cached-one-sa | 5,000 req/s | 0.50× | 0.50× |')
    expect(markdown).toContain('**miss**: 1.5× over (150 µs too many)')
    expect(markdown).toContain('2 of 6 targets missed')
    expect(markdown).toContain('## Where the Node broker spends its CPU: cached read')
    expect(markdown).toContain('## Where the Deno broker spends its CPU: cached read')
    expect(markdown).toContain("Deno's inspector profiler (the DevTools protocol; Deno has no --cpu-prof) over 500 requests")
    expect(markdown).toContain('| `digest (src/x.ts:3)` | 120 ms | 120 µs | 30.0 % |')
    expect(markdown).toContain('| `package hono` | 200 ms | 200 µs | 50.0 % |')
    expect(markdown).toContain('| `hash` | 1 ms | 1.3 µs | 0.3 % |')
    expect(markdown).toContain('![req/s vs the Hono ceiling](results.svg)')
  })
})

describe('measurementTable', () => {
  it('shows each rate against the Hono ceiling and against Hono on the same runtime', () => {
    const table = measurementTable([
      m({ id: 'hono', runtime: 'Node', rate: 10_000 }),
      m({ id: 'hono', runtime: 'Deno', rate: 20_000 }),
      m({ id: 'cached-one-sa', runtime: 'Deno', rate: 4000 }),
      m({ id: 'direct', runtime: 'OpenBao', rate: 300, unit: 'pods/s' }),
    ]).split('\n')
    expect(table[0]).toContain('| rate, 32 conns | vs Hono ceiling | vs Hono on the same runtime | p50, 32 conns |')
    expect(table[1]).toBe('|---|---|---|---|---|---|---|---|---|')
    expect(table[2]).toContain('| Node | hono | 10,000 req/s | 1.00× | 1.00× |')
    expect(table[3]).toContain('| Deno | hono | 20,000 req/s | 2.00× | 1.00× |')
    expect(table[4]).toContain('| Deno | cached-one-sa | 4,000 req/s | 0.40× | 0.20× |')
    expect(table[5]).toContain('| OpenBao | direct | 300 pods/s |  |  |')
  })
})

describe('replaceMarkedSection', () => {
  it('replaces only what lies between the markers', () => {
    const readme = 'intro\n<!-- bench:start -->\nold numbers\n<!-- bench:end -->\nafter\n'
    expect(replaceMarkedSection(readme, 'new numbers\n')).toBe('intro\n<!-- bench:start -->\nnew numbers\n<!-- bench:end -->\nafter\n')
  })

  it('refuses a README without the markers', () => {
    expect(() => replaceMarkedSection('no markers', 'x')).toThrow(/bench:start/)
  })
})

describe('renderBarChart', () => {
  const svg = renderBarChart({
    title: 'req/s <vs> Hono & co',
    targets: [{ ratio: 0.35, label: '0.35×' }],
    groups: [{ name: 'Node', bars: [{ label: 'ceiling', ratio: 1, note: '10,000 req/s' }, { label: 'cached "read"', ratio: 0.5, note: '5,000 req/s' }] }],
  })

  it('draws one bar per row, its length proportional to the ratio', () => {
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)" height/g)].map((match) => Number(match[1]))
    expect(widths).toHaveLength(2)
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.5, 5)
  })

  it('escapes text, so labels cannot break the XML', () => {
    expect(svg).toContain('req/s &lt;vs&gt; Hono &amp; co')
    expect(svg).toContain('cached &quot;read&quot;')
    expect(escapeXml('<a&"b">')).toBe('&lt;a&amp;&quot;b&quot;&gt;')
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trim().endsWith('</svg>')).toBe(true)
  })
})

describe('topSelfTime', () => {
  // Node 2 (hash) and node 3 (hash, called from elsewhere) are one function; node 4 is idle.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'hash', url: 'file:///repo/src/seal.ts', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'hash', url: 'file:///repo/src/seal.ts', lineNumber: 9 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 5, callFrame: { functionName: 'render', url: 'file:///repo/src/render.ts', lineNumber: 0 } },
    ],
    startTime: 1000,
    endTime: 1600,
    samples: [2, 3, 4, 5, 2, 5],
    timeDeltas: [0, 100, 100, 100, 100, 100],
  }

  it('sums self time per function, leaves idle out and shows paths inside the repository', () => {
    expect(topSelfTime(profile, 5, { repositoryUrl: 'file:///repo/' })).toEqual([
      { name: 'hash (src/seal.ts:10)', selfMs: 0.3, percent: 60 },
      { name: 'render (src/render.ts:1)', selfMs: 0.2, percent: 40 },
    ])
  })

  it('sums by area: a file of the repository, a package, Node itself, or the native function', () => {
    expect(topSelfTime(profile, 5, { repositoryUrl: 'file:///repo/', by: 'area' })).toEqual([
      { name: 'src/seal.ts', selfMs: 0.3, percent: 60 },
      { name: 'src/render.ts', selfMs: 0.2, percent: 40 },
    ])
    expect(areaOf('node_modules/@hono/node-server/dist/index.mjs', 'x')).toBe('package @hono/node-server')
    expect(areaOf('file:///repo/node_modules/hono/dist/compose.js', 'dispatch')).toBe('package hono')
    expect(areaOf('node:internal/deps/undici/undici', 'set')).toBe("Node's built-in JavaScript")
    expect(areaOf('', 'writev')).toBe('native: writev')
  })

  it('keeps only samples inside the window', () => {
    // Samples are at 1000, 1100, 1200, 1300, 1400, 1500: the window keeps 1300 (render) and 1400 (hash).
    expect(topSelfTime(profile, 5, { window: { fromUs: 1250, toUs: 1450 } }).map((f) => f.name)).toEqual([
      'hash (file:///repo/src/seal.ts:10)',
      'render (file:///repo/src/render.ts:1)',
    ])
  })
})

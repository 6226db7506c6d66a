// The chart README.md shows: one horizontal bar per scenario, its req/s as a multiple of the
// Hono ceiling (Hono on @hono/node-server, for every runtime), grouped by runtime. Hand-written
// SVG (a dozen elements) rather than a charting library and a headless browser.
import { fmtRatio } from './report.ts'

export interface ChartBar {
  label: string
  /** req/s ÷ the Hono ceiling. */
  ratio: number
  /** Shown after the bar, e.g. `6,180 req/s`. */
  note: string
}

export interface ChartGroup {
  name: string
  bars: ChartBar[]
}

const WIDTH = 860
const LABEL_WIDTH = 330
const BAR_AREA = 380
const BAR_HEIGHT = 16
const BAR_GAP = 6
const GROUP_GAP = 22
const TOP = 48

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** `targets` draws dashed lines at those ratios (e.g. 0.35 and 0.25) across every group. */
export function renderBarChart(options: { title: string; groups: ChartGroup[]; targets?: { ratio: number; label: string }[] }): string {
  const bars = options.groups.flatMap((group) => group.bars)
  const max = Math.max(1, ...bars.map((bar) => bar.ratio))
  const x = (ratio: number) => LABEL_WIDTH + (Math.max(0, ratio) / max) * BAR_AREA
  const parts: string[] = []
  let y = TOP
  for (const group of options.groups) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${escapeXml(group.name)}</text>`)
    y += BAR_HEIGHT + BAR_GAP
    for (const bar of group.bars) {
      const width = (x(bar.ratio) - LABEL_WIDTH).toFixed(1)
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + 12}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" fill="#3b6ea5"/>`,
        `<text x="${(x(bar.ratio) + 6).toFixed(1)}" y="${y + 12}">${escapeXml(`${fmtRatio(bar.ratio)} · ${bar.note}`)}</text>`,
      )
      y += BAR_HEIGHT + BAR_GAP
    }
    y += GROUP_GAP - BAR_GAP
  }
  const height = y + 36
  // Guide labels sit under the plot, every other one a line lower, so close ratios stay readable.
  const guides = [{ ratio: 1, label: '1× = Hono ceiling' }, ...(options.targets ?? [])]
    .sort((a, b) => a.ratio - b.ratio)
    .map(
      (target, i) =>
        `<line x1="${x(target.ratio).toFixed(1)}" y1="${TOP - 6}" x2="${x(target.ratio).toFixed(1)}" y2="${height - 30}" stroke="#999" stroke-dasharray="4 3"/>` +
        `<text x="${x(target.ratio).toFixed(1)}" y="${height - 18 + (i % 2) * 12}" text-anchor="middle" font-size="10" fill="#666">${escapeXml(target.label)}</text>`,
    )
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="22" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...guides,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

// Prometheus text exposition (format 0.0.4) of a few counters. Hand-written because the
// usual client (prom-client) is Node-only and this file must also run in Deno.
export interface Metrics {
  count(name: MetricName, labels?: Record<string, string>, amount?: number): void
  render(): string
}

const HELP = {
  vault_edge_http_requests_total: 'HTTP responses by route group and status code.',
  vault_edge_secret_reads_total: 'Secret reads by cache outcome (hit, miss, stale).',
  vault_edge_audit_sink_events_total: 'Audit events for the HTTP sink by outcome (sent; retried: sent again after a failed attempt; dropped: never delivered).',
  vault_edge_rate_limited_total: 'Requests answered 429 by an abuse limit (failed_auth per client address, reads per identity).',
  vault_edge_cache_uncacheable_total: 'Vault reads too large to cache (over 2 MiB), served uncached.',
} as const

export type MetricName = keyof typeof HELP

const NEEDS_ESCAPE = /[\\"\n]/
const escapeLabel = (value: string) => (NEEDS_ESCAPE.test(value) ? value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n') : value)

function seriesKey(name: MetricName, labels: Record<string, string>): string {
  let labelText = ''
  for (const label in labels) labelText += `${labelText ? ',' : ''}${label}="${escapeLabel(labels[label]!)}"`
  return labelText ? `${name}{${labelText}}` : name
}

export function createMetrics(): Metrics {
  const series = new Map<string, number>()
  // Each series' text made once, found by name and label values (counted twice per request, issue
  // 9 profile). Label values come from small fixed sets: route groups, status codes, cache outcomes.
  const keys = new Map<string, string>()
  return {
    count(name, labels = {}, amount = 1) {
      let id: string = name
      for (const label in labels) id += `\n${label}=${labels[label]}`
      let key = keys.get(id)
      if (key === undefined) keys.set(id, (key = seriesKey(name, labels)))
      series.set(key, (series.get(key) ?? 0) + amount)
    },
    render() {
      const lines: string[] = []
      for (const [name, help] of Object.entries(HELP)) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
        for (const [key, value] of series) if (key === name || key.startsWith(`${name}{`)) lines.push(`${key} ${value}`)
      }
      return `${lines.join('\n')}\n`
    },
  }
}

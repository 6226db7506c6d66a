// The HTTP sink's delivery rules (docs/audit.md): batches of at most maxBatch, one at a time,
// two retries, then dropped — every outcome counted. A recording fetch stands in for the network.
import { describe, expect, it } from 'vitest'
import { createAuditSink, MAX_QUEUED_EVENTS } from '../../src/audit/audit-sink.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { createMetrics } from '../../src/metrics.ts'

const config = { url: 'https://logs.example/in', header: 'X-Key', timeoutMs: 1000, maxBatch: 100 }
const counter = (metrics: ReturnType<typeof createMetrics>, outcome: string) =>
  Number(new RegExp(`^vault_edge_audit_sink_events_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics.render())?.[1] ?? 0)

describe('the audit sink', () => {
  it('sends what is queued in batches of at most maxBatch, one batch at a time, with the header', async () => {
    const batches: { size: number; header: string | null }[] = []
    let inFlight = 0
    let maxInFlight = 0
    const fetchImpl: typeof fetch = async (_input, init) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      batches.push({ size: (JSON.parse(String(init!.body)) as unknown[]).length, header: new Headers(init!.headers).get('X-Key') })
      inFlight--
      return new Response(null, { status: 204 })
    }
    const metrics = createMetrics()
    const sink = createAuditSink({ config, headerValue: 'k', fetch: fetchImpl, log: createMemoryLogger(), metrics })
    const results = await Promise.all(Array.from({ length: 250 }, (_, index) => sink.send({ index })))
    expect(results.every(Boolean)).toBe(true)
    expect(batches.map((batch) => batch.size)).toEqual([1, 100, 100, 49])
    expect(new Set(batches.map((batch) => batch.header))).toEqual(new Set(['k']))
    expect(maxInFlight).toBe(1)
    expect(counter(metrics, 'sent')).toBe(250)
  })

  it('retries a failed batch twice, then drops it, counts it and logs the cause without the header', async () => {
    let attempts = 0
    const fetchImpl: typeof fetch = async () => {
      attempts++
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
    }
    const metrics = createMetrics()
    const log = createMemoryLogger()
    const sink = createAuditSink({ config, headerValue: 'secret-key', fetch: fetchImpl, log, metrics, sleep: async () => {} })
    expect(await sink.send({ a: 1 })).toBe(false)
    expect(attempts).toBe(3)
    expect(counter(metrics, 'retried')).toBe(2)
    expect(counter(metrics, 'dropped')).toBe(1)
    expect(log.lines.join('\n')).toContain('"reason":"connection refused (ECONNREFUSED)"')
    expect(log.lines.join('\n')).not.toContain('secret-key')
  })

  it('drops at once beyond MAX_QUEUED_EVENTS waiting events', async () => {
    const metrics = createMetrics()
    const sink = createAuditSink({ config, headerValue: undefined, fetch: () => new Promise<Response>(() => {}), log: createMemoryLogger(), metrics })
    // The first event is in flight at once; the next MAX_QUEUED_EVENTS wait.
    for (let index = 0; index < MAX_QUEUED_EVENTS + 1; index++) void sink.send({ index })
    expect(await sink.send({ last: true })).toBe(false)
    expect(counter(metrics, 'dropped')).toBe(1)
  })
})

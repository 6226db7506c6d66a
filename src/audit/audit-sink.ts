// The optional HTTP sink (docs/audit.md): events are queued and POSTed as JSON arrays, one batch
// at a time, so a busy broker sends fewer, larger requests. A failed batch is retried with
// backoff and then dropped; every outcome is counted in /metrics. Delivery never throws: whether
// a failure matters (audit.required) is the caller's decision.
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import type { AuditSinkConfig } from './audit-config.ts'
import { describeFetchFailure } from '../describe-fetch-failure.ts'

/** Attempts per batch, and the pause before each retry. */
export const SINK_RETRY_DELAYS_MS = [100, 500] as const
/** Events waiting beyond this are dropped at once: a dead sink must not fill the broker's memory. */
export const MAX_QUEUED_EVENTS = 10_000

export interface AuditSink {
  /** Queues the event; resolves true once its batch was accepted, false when it was dropped. */
  send(event: object): Promise<boolean>
}

export interface AuditSinkOptions {
  config: AuditSinkConfig
  /** AUDIT_SINK_HEADER_VALUE, sent in `config.header`. */
  headerValue: string | undefined
  fetch: typeof fetch
  log: Logger
  metrics?: Metrics
  sleep?: (ms: number) => Promise<void>
}

interface Queued {
  event: object
  settle: (delivered: boolean) => void
}

const METRIC = 'vault_edge_audit_sink_events_total'

export function createAuditSink(options: AuditSinkOptions): AuditSink {
  const { config } = options
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (options.headerValue !== undefined) headers[config.header] = options.headerValue
  // The log names where, never the header: its value is a credential.
  const sinkOrigin = new URL(config.url).origin
  const queue: Queued[] = []
  let draining: Promise<void> | undefined

  async function attempt(body: string): Promise<string | undefined> {
    try {
      const response = await options.fetch(config.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(config.timeoutMs),
        redirect: 'manual',
      })
      await response.body?.cancel().catch(() => {})
      return response.ok ? undefined : `answered HTTP ${response.status}`
    } catch (error) {
      return describeFetchFailure(error)
    }
  }

  async function deliver(batch: Queued[]): Promise<void> {
    const body = JSON.stringify(batch.map((queued) => queued.event))
    let failure = await attempt(body)
    for (const delayMs of SINK_RETRY_DELAYS_MS) {
      if (failure === undefined) break
      await sleep(delayMs)
      options.metrics?.count(METRIC, { outcome: 'retried' }, batch.length)
      failure = await attempt(body)
    }
    if (failure === undefined) {
      options.metrics?.count(METRIC, { outcome: 'sent' }, batch.length)
    } else {
      options.metrics?.count(METRIC, { outcome: 'dropped' }, batch.length)
      options.log.log('warn', 'audit sink failed; events dropped (stdout still has them)', { sink: sinkOrigin, events: batch.length, reason: failure })
    }
    for (const queued of batch) queued.settle(failure === undefined)
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) await deliver(queue.splice(0, config.maxBatch))
    draining = undefined
  }

  return {
    send(event) {
      if (queue.length >= MAX_QUEUED_EVENTS) {
        options.metrics?.count(METRIC, { outcome: 'dropped' })
        return Promise.resolve(false)
      }
      const delivered = new Promise<boolean>((settle) => queue.push({ event, settle }))
      draining ??= drain()
      return delivered
    },
  }
}

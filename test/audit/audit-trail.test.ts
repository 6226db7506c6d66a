// Issue 10, "Audit": one `"type":"audit"` line per /v1 request, naming the pod the token was
// issued for, on cache hits too — which Vault's own audit log cannot do (shown here: the broker's
// Vault token is shared by the pods of a ServiceAccount, so Vault names the first pod). Real
// OpenBao, the broker as a Node process, and an HTTP sink that can fail.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startAuditSinkServer, type AuditSinkServer } from '../support/audit-sink-server.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { createOpenBaoClient } from '../support/openbao.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'
import { startBrokerInWorkerd } from '../support/workerd-broker.ts'
import { DEMO_SECRET } from '../support/seed-openbao.ts'

const issuerUrl = inject('issuerUrl')
const openbao = createOpenBaoClient({ address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken'), auditLogPath: inject('openbaoAuditLog') })
const SINK_HEADER = `Bearer sink-${randomUUID()}`
const CONFIG_PATH = 'secret/data/myapp/config'

interface AuditLine {
  type: string
  requestId: string
  route: string
  client?: string
  pod?: string
  podUid?: string
  node?: string
  namespace?: string
  serviceAccount?: string
  cluster?: string
  path: string[]
  role?: string
  format?: string
  cache: string
  status: number
  code?: string
  reads?: { path: string; cache: string; vaultRequestId?: string; leaseId?: string }[]
}

const auditLines = (output: string): AuditLine[] =>
  output
    .split('\n')
    .filter((line) => line.includes('"type":"audit"'))
    .map((line) => JSON.parse(line) as AuditLine)

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const podToken = (pod: string, serviceAccount = 'myapp') =>
  mintToken(issuerUrl, { namespace: 'demo', serviceAccount, pod, audiences: [BROKER_AUDIENCE] })

describe('the audit trail', () => {
  let sink: AuditSinkServer
  let broker: ProcessBroker

  beforeAll(async () => {
    sink = await startAuditSinkServer({ headerName: 'Authorization' })
    broker = await startProcessBroker('node', {
      BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { audit: { sink: { url: sink.url } } } })),
      AUDIT_SINK_HEADER_VALUE: SINK_HEADER,
    })
  })
  afterAll(async () => {
    await broker?.stop()
    await sink?.stop()
  })

  it('writes one line per request id over a mixed run from three pods, each naming its own pod, hits included', async () => {
    const run = randomUUID().slice(0, 8)
    const pods = ['a', 'b', 'c'].map((name) => `myapp-${run}-${name}`)
    const tokens = await Promise.all(pods.map((pod) => podToken(pod)))
    const mark = await openbao.auditMark()
    const sent: { requestId: string; pod: string | undefined; status: number; xCache: string | null }[] = []
    const call = async (podIndex: number | undefined, path: string, init: RequestInit & { expect: number }) => {
      const token = podIndex === undefined ? 'not-a-token' : tokens[podIndex]!
      const response = await fetch(`${broker.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } })
      await response.arrayBuffer()
      expect(response.status, `${init.method ?? 'GET'} ${path}`).toBe(init.expect)
      sent.push({ requestId: response.headers.get('X-Request-Id')!, pod: podIndex === undefined ? undefined : pods[podIndex], status: response.status, xCache: response.headers.get('X-Cache') })
      return response
    }

    // A miss by the first pod: it logs in to Vault; the Vault token is kept for the ServiceAccount.
    const first = await call(0, `/v1/secrets/${CONFIG_PATH}`, { expect: 200 })
    const etag = first.headers.get('ETag')!
    for (let round = 0; round < 4; round++) {
      for (const pod of [0, 1, 2]) {
        await call(pod, `/v1/secrets/${CONFIG_PATH}?format=${['json', 'env', 'yaml', 'dotenv'][round]}`, { expect: 200 }) // hits
        await call(pod, `/v1/secrets/${CONFIG_PATH}`, { expect: 304, headers: { 'If-None-Match': etag } })
      }
    }
    // The second pod asks for a fresh read: Vault is asked with the token the first pod's login got.
    const refreshed = await call(1, `/v1/secrets/${CONFIG_PATH}`, { expect: 200, headers: { 'Cache-Control': 'no-cache' } })
    expect(refreshed.headers.get('X-Cache')).toBe('miss')
    for (const pod of [0, 1, 2]) {
      await call(pod, '/v1/secrets/secret/data/other-team/db', { expect: 403 })
      await call(pod, '/v1/secrets/secret/data/myapp/does-not-exist', { expect: 404 })
      await call(pod, '/v1/bundle', { method: 'POST', expect: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ secrets: [{ path: CONFIG_PATH, prefix: 'APP_' }] }) })
      await call(pod, '/v1/render', { method: 'POST', expect: 200, headers: { 'Content-Type': 'text/plain' }, body: `{{ with secret "${CONFIG_PATH}" }}{{ .Data.data.username }}{{ end }}` })
      await call(undefined, `/v1/secrets/${CONFIG_PATH}`, { expect: 401 })
    }
    for (let i = 0; i < 21; i++) await call(i % 3, `/v1/secrets/${CONFIG_PATH}?format=env`, { expect: 200 })
    expect(sent.length).toBeGreaterThanOrEqual(60)
    expect(new Set(sent.map((request) => request.status))).toEqual(new Set([200, 304, 401, 403, 404]))

    const ids = new Set(sent.map((request) => request.requestId))
    expect(ids.size).toBe(sent.length)
    const lines = await until(() => {
      const mine = auditLines(broker.output()).filter((line) => ids.has(line.requestId))
      return mine.length >= sent.length ? mine : undefined
    }, 'an audit line for every request')
    expect(lines).toHaveLength(sent.length)
    for (const request of sent) {
      const line = lines.find((candidate) => candidate.requestId === request.requestId)!
      expect(line.status).toBe(request.status)
      expect(line.pod).toBe(request.pod)
      expect(line.cache).toBe(request.xCache ?? 'none')
      if (request.pod !== undefined) {
        expect(line).toMatchObject({ cluster: 'local', namespace: 'demo', serviceAccount: 'myapp', node: 'kind-worker' })
        expect(line.podUid).toMatch(/^[0-9a-f-]{36}$/)
      }
    }
    const hits = lines.filter((line) => line.cache === 'hit' && line.status === 200)
    expect(new Set(hits.map((line) => line.pod))).toEqual(new Set(pods))
    expect(lines.filter((line) => line.status === 304).every((line) => line.cache === 'hit')).toBe(true)
    expect(lines.find((line) => line.route === '/v1/bundle')).toMatchObject({ path: [CONFIG_PATH], role: 'demo-myapp', cache: 'hit', reads: [{ path: CONFIG_PATH, cache: 'hit' }] })
    expect(lines.find((line) => line.format === 'template')).toMatchObject({ path: [CONFIG_PATH], role: 'demo-myapp', status: 200 })
    expect(lines.find((line) => line.status === 403)).toMatchObject({ path: ['secret/data/other-team/db'], code: 'forbidden', cache: 'none' })
    expect(lines.find((line) => line.status === 404)).toMatchObject({ path: ['secret/data/myapp/does-not-exist'], role: 'demo-myapp', code: 'not_found' })
    expect(lines.find((line) => line.status === 401)).toMatchObject({ path: [CONFIG_PATH], code: 'invalid_token', cache: 'none' })

    // Vault's request id on a miss finds the read in Vault's audit log, where Vault names the
    // first pod: the token it sees is the one the first pod's login got.
    const refreshLine = lines.find((line) => line.requestId === refreshed.headers.get('X-Request-Id'))!
    expect(refreshLine).toMatchObject({ pod: pods[1], cache: 'miss' })
    const vaultRequestId = refreshLine.reads![0]!.vaultRequestId!
    expect(vaultRequestId).toMatch(/^[0-9a-f-]{36}$/)
    const [vaultEntry] = (await openbao.auditEntries({ since: mark, path: CONFIG_PATH })).filter((entry) => entry.request.id === vaultRequestId)
    expect(vaultEntry?.auth?.metadata?.pod_name).toBe(pods[0])

    // Nothing secret: no token, no value, in any audit line.
    const text = lines.map((line) => JSON.stringify(line)).join('\n')
    for (const token of tokens) expect(text).not.toContain(token.split('.')[1])
    for (const value of Object.values(DEMO_SECRET)) expect(text).not.toContain(value)

    // The sink got the same events, in batches, with the header from AUDIT_SINK_HEADER_VALUE.
    const delivered = await until(() => {
      const mine = sink.events().filter(({ event }) => ids.has(event.requestId as string))
      return mine.length >= sent.length ? mine : undefined
    }, 'every event at the sink')
    expect(delivered).toHaveLength(sent.length)
    expect(new Set(delivered.map(({ header }) => header))).toEqual(new Set([SINK_HEADER]))
    expect(broker.output()).not.toContain(SINK_HEADER.slice('Bearer '.length))
  })

  it('keeps serving reads while the sink is down, and counts the dropped events', async () => {
    const token = await podToken(`myapp-${randomUUID().slice(0, 8)}`)
    sink.setDown(true)
    try {
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${broker.url}/v1/secrets/${CONFIG_PATH}`, { headers: { Authorization: `Bearer ${token}` } })
        expect(response.status).toBe(200)
      }
      const dropped = await pollMetric(broker.url, /^vault_edge_audit_sink_events_total\{outcome="dropped"\} (\d+)$/m, (value) => value >= 5)
      expect(dropped).toBeGreaterThanOrEqual(5)
      const retried = await pollMetric(broker.url, /^vault_edge_audit_sink_events_total\{outcome="retried"\} (\d+)$/m, (value) => value >= 5)
      expect(retried).toBeGreaterThanOrEqual(5)
      expect(broker.output()).toMatch(/audit sink failed; events dropped.*"reason":"answered HTTP 503"/)
    } finally {
      sink.setDown(false)
    }
    expect(await pollMetric(broker.url, /^vault_edge_audit_sink_events_total\{outcome="sent"\} (\d+)$/m, (value) => value > 0)).toBeGreaterThan(0)
  })
})

async function pollMetric(url: string, pattern: RegExp, done: (value: number) => boolean): Promise<number> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const match = pattern.exec(await (await fetch(`${url}/metrics`)).text())
    const value = match ? Number(match[1]) : 0
    if (done(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('audit.required', () => {
  let sink: AuditSinkServer
  let broker: ProcessBroker

  beforeAll(async () => {
    sink = await startAuditSinkServer({ headerName: 'Authorization' })
    broker = await startProcessBroker('node', {
      BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { audit: { sink: { url: sink.url }, required: true } } })),
    })
  })
  afterAll(async () => {
    await broker?.stop()
    await sink?.stop()
  })

  it('answers 503 while the sink cannot record, and serves again once it can', async () => {
    const token = await podToken(`myapp-${randomUUID().slice(0, 8)}`)
    const read = () => fetch(`${broker.url}/v1/secrets/${CONFIG_PATH}?format=env`, { headers: { Authorization: `Bearer ${token}` } })
    expect((await read()).status).toBe(200)

    sink.setDown(true)
    const refused = await read()
    const body = await refused.text()
    expect(refused.status).toBe(503)
    expect(refused.headers.get('Content-Type')).toBe('application/problem+json')
    expect(refused.headers.get('Retry-After')).toBe('5')
    expect(refused.headers.get('ETag')).toBeNull()
    expect(refused.headers.get('X-Cache')).toBeNull()
    expect(JSON.parse(body)).toMatchObject({ status: 503, code: 'audit_unavailable' })
    expect(body).not.toContain(DEMO_SECRET.username)
    const requestId = refused.headers.get('X-Request-Id')!
    const line = await until(() => auditLines(broker.output()).find((candidate) => candidate.requestId === requestId), 'the refused request\'s audit line')
    expect(line).toMatchObject({ status: 503, code: 'audit_unavailable', cache: 'none' })

    sink.setDown(false)
    expect((await read()).status).toBe(200)
  })
})

describe('on Workers (workerd)', () => {
  it('writes the audit line to the Worker log and delivers the event to the sink under waitUntil', async () => {
    const sink = await startAuditSinkServer({ headerName: 'X-Sink-Key' })
    const worker = await startBrokerInWorkerd({
      BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address, extra: { audit: { sink: { url: sink.url, header: 'X-Sink-Key' } } } })),
      AUDIT_SINK_HEADER_VALUE: 'sink-key-for-workerd',
    })
    try {
      const pod = `myapp-${randomUUID().slice(0, 8)}`
      const response = await fetch(`${worker.url}/v1/secrets/${CONFIG_PATH}?format=env`, { headers: { Authorization: `Bearer ${await podToken(pod)}` } })
      expect(response.status).toBe(200)
      const requestId = response.headers.get('X-Request-Id')!
      const delivered = await until(() => sink.events().find(({ event }) => event.requestId === requestId), 'the event at the sink')
      expect(delivered).toMatchObject({ header: 'sink-key-for-workerd', event: { pod, status: 200, cache: 'miss', format: 'env' } })
      // Miniflare gives every request CF-Connecting-IP, as Cloudflare does.
      const line = await until(() => auditLines(worker.output()).find((candidate) => candidate.requestId === requestId), 'the audit line')
      expect(line).toMatchObject({ pod, client: '127.0.0.1' })
    } finally {
      await worker.stop()
      await sink.stop()
    }
  })
})

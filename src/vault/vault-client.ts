// Transport to Vault/OpenBao: address, namespace header, timeout, and the mapping of Vault's
// answers to SPEC §2 errors. Vault's own error text is never passed on: it can name paths
// and policies the caller may not see.
import { AppError } from '../errors.ts'
import { responseText } from '../transport/buffered-response.ts'
import { TlsFailureError } from '../transport/tls-failure.ts'
import { parseJsonKeepingNumbers } from './lossless-json.ts'

export interface VaultClientOptions {
  address: string
  namespace: string | null
  timeoutMs: number
  fetch: typeof fetch
}

export interface VaultRequest {
  token?: string
  body?: unknown
  /** Vault Enterprise / OpenBao namespace; overrides the configured one. */
  namespace?: string | null
  /** Optional headers, e.g. OpenBao inline auth. */
  headers?: Record<string, string>
}

export type VaultClient = <T>(method: 'GET' | 'POST' | 'PUT' | 'LIST' | 'DELETE', path: string, request?: VaultRequest) => Promise<T>

const RETRY_AFTER_SECONDS = '5'

function mapVaultStatus(status: number, retryAfter: string | null): AppError {
  const logReason = `Vault answered HTTP ${status}`
  switch (status) {
    case 400:
      return new AppError(400, 'vault_bad_request', 'Vault rejected the request as invalid.', { logReason })
    case 403:
      return new AppError(403, 'vault_denied', 'Vault denied access to this secret.', { logReason })
    case 404:
      return new AppError(404, 'not_found', 'No secret at this path.', { logReason })
    case 405:
      return new AppError(405, 'method_not_allowed', 'Vault does not support this operation on this path.', { logReason })
    case 429:
      return new AppError(429, 'rate_limited', 'Vault is rate limiting requests.', {
        logReason,
        headers: { 'Retry-After': retryAfter ?? RETRY_AFTER_SECONDS },
      })
    case 503:
      // Sealed, standby without forwarding, or in maintenance.
      return new AppError(503, 'vault_unavailable', 'Vault is unavailable.', { logReason, headers: { 'Retry-After': RETRY_AFTER_SECONDS } })
    default:
      return new AppError(502, 'vault_error', 'Vault answered with an error.', { logReason })
  }
}

const isTimeout = (error: unknown) => error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
const timedOut = (timeoutMs: number, cause: unknown) =>
  new AppError(504, 'vault_timeout', 'Vault did not answer in time.', { cause, logReason: `no answer within ${timeoutMs} ms` })

export function createVaultClient(options: VaultClientOptions): VaultClient {
  const base = options.address.replace(/\/+$/, '')
  return async <T>(method: string, path: string, request: VaultRequest = {}) => {
    const headers: Record<string, string> = { ...request.headers }
    if (request.token) headers['X-Vault-Token'] = request.token
    const namespace = request.namespace === undefined ? options.namespace : request.namespace
    if (namespace) headers['X-Vault-Namespace'] = namespace
    if (request.body !== undefined) headers['Content-Type'] = 'application/json'
    let response: Response
    try {
      response = await options.fetch(`${base}/v1/${path}`, {
        method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: 'manual',
      })
    } catch (error) {
      if (isTimeout(error)) throw timedOut(options.timeoutMs, error)
      // A certificate problem is a misconfiguration, not an outage: 502, with the cause logged.
      if (error instanceof TlsFailureError) {
        throw new AppError(502, 'vault_tls_error', 'The TLS connection to Vault failed.', { cause: error, logReason: `TLS to Vault failed: ${error.message}` })
      }
      throw new AppError(503, 'vault_unavailable', 'Vault is unreachable.', {
        cause: error,
        logReason: 'connection to Vault failed',
        headers: { 'Retry-After': RETRY_AFTER_SECONDS },
      })
    }
    if (response.status === 204) return undefined as T
    if (!response.ok) {
      await response.body?.cancel()
      throw mapVaultStatus(response.status, response.headers.get('Retry-After'))
    }
    try {
      return parseJsonKeepingNumbers(await responseText(response)) as T
    } catch (error) {
      // The timeout covers the body too: headers in time and a body that stalls is no answer.
      if (isTimeout(error)) throw timedOut(options.timeoutMs, error)
      throw new AppError(502, 'vault_error', 'Vault answered with something that is not JSON.', { cause: error })
    }
  }
}

// Every failure the broker reports has a stable `code` and an HTTP status; the wire form is
// problem+json (RFC 9457), built in one place (`toProblem`) so no handler can leak a cause.

export type ErrorCode =
  | 'bad_request'
  | 'unknown_format'
  | 'template_syntax'
  | 'template_unsupported'
  | 'env_name_invalid'
  | 'env_name_collision'
  | 'value_unrepresentable'
  | 'key_required'
  | 'template_execution'
  | 'invalid_path'
  | 'invalid_version'
  | 'invalid_body'
  | 'bundle_collision'
  | 'missing_key'
  | 'misconfigured'
  | 'vault_bad_request'
  | 'invalid_token'
  | 'forbidden'
  | 'vault_denied'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_large'
  | 'unsupported_encoding'
  | 'audit_unavailable'
  | 'rate_limited'
  | 'vault_error'
  | 'vault_unavailable'
  | 'vault_tls_error'
  | 'vault_timeout'
  | 'cache_unavailable'
  | 'internal'

export interface AppErrorOptions {
  cause?: unknown
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>
  /** Why, for the log line only: never sent to the client. Must not hold a token or secret. */
  logReason?: string
}

export class AppError extends Error {
  readonly status: number
  readonly code: ErrorCode | string
  readonly detail: string
  readonly headers: Record<string, string>
  readonly logReason: string | undefined

  constructor(status: number, code: ErrorCode | string, detail: string, options: AppErrorOptions = {}) {
    super(detail, { cause: options.cause })
    this.name = 'AppError'
    this.status = status
    this.code = code
    this.detail = detail
    this.headers = options.headers ?? {}
    this.logReason = options.logReason
  }
}

export const badRequest = (detail: string, code: ErrorCode | string = 'bad_request', options?: AppErrorOptions) =>
  new AppError(400, code, detail, options)

/**
 * One message for every token failure, so a caller cannot probe which check failed
 * (the reason goes to the log only). RFC 6750 §3 for WWW-Authenticate.
 */
export const invalidToken = (logReason: string, cause?: unknown) =>
  new AppError(401, 'invalid_token', 'The bearer token is missing or invalid.', {
    logReason,
    cause,
    headers: { 'WWW-Authenticate': 'Bearer realm="vault-edge", error="invalid_token"' },
  })

export const forbidden = (detail: string, logReason?: string) =>
  new AppError(403, 'forbidden', detail, { logReason })

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export interface Problem {
  type: string
  title: string
  status: number
  code: string
  detail: string
  requestId: string
}

/** RFC 9457 problem details. Anything that is not an AppError becomes a generic 500. */
export function toProblem(error: unknown, requestId: string): { problem: Problem; headers: Record<string, string> } {
  const known = error instanceof AppError ? error : new AppError(500, 'internal', 'Internal error.')
  return {
    problem: {
      type: `https://vault-edge.dev/problems/${known.code}`,
      title: TITLES[known.status] ?? 'Error',
      status: known.status,
      code: known.code,
      detail: known.detail,
      requestId,
    },
    headers: known.headers,
  }
}

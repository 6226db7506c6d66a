// Why a fetch failed, in words an operator can act on (DNS, refused, TLS, timeout), for log lines.
// Runtimes say it differently: Node (undici) puts an errno/OpenSSL code on `cause`, Deno and workerd
// only in the message. Only the class of failure and its code are kept: messages can quote URLs
// with credentials in them, and are not stable across versions.

const TLS_CODES = /^(?:UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|CERT_|ERR_TLS_|ERR_SSL_|EPROTO$)/

function codeOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && code !== '') return code
  }
  return undefined
}

const messagesOf = (error: unknown): string => {
  const messages: string[] = []
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) messages.push(current.message)
  return messages.join(' | ')
}

export function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out'
  const code = codeOf(error)
  const text = messagesOf(error)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /dns error|failed to lookup address|name resolution|not known/i.test(text)) {
    return `DNS lookup failed${code ? ` (${code})` : ''}`
  }
  if (code === 'ECONNREFUSED' || /connection refused/i.test(text)) return `connection refused${code ? ` (${code})` : ''}`
  if ((code && TLS_CODES.test(code)) || /certificate|\btls\b|\bssl\b|handshake/i.test(text)) return `TLS failed${code ? ` (${code})` : ''}`
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || /connection (?:reset|closed|lost)/i.test(text)) return `connection reset${code ? ` (${code})` : ''}`
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `connect timed out (${code})`
  return `network error (${code ?? (error instanceof Error ? error.name : typeof error)})`
}

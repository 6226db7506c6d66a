// Why a TLS connection failed, in words an operator can act on. Node (OpenSSL through undici)
// and Deno (rustls) report the same failures differently: Node as error codes, Deno as message
// text. Only the classification leaves this file, never the library's message (it can name
// hosts and certificate subjects, and is not ours to put on the wire).

export type TlsFailureKind =
  | 'unknown_ca'
  | 'name_mismatch'
  | 'certificate_expired'
  | 'client_certificate_required'
  | 'client_certificate_rejected'
  | 'not_tls'
  | 'handshake_failed'

export const TLS_FAILURE_DESCRIPTIONS: Record<TlsFailureKind, string> = {
  unknown_ca: "the server's certificate is not signed by a trusted CA (unknown CA: check VAULT_CACERT / caCert)",
  name_mismatch: "the server's certificate does not name the host (name mismatch: check the address or VAULT_TLS_SERVER_NAME)",
  certificate_expired: "the server's certificate has expired or is not valid yet",
  client_certificate_required: 'the server requires a client certificate and none was presented (set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)',
  client_certificate_rejected: 'the server rejected the client certificate (bad client certificate: not signed by a CA the server trusts, expired, or wrong usage)',
  not_tls: 'the server did not answer TLS (an http:// listener behind an https:// address?)',
  handshake_failed: 'the TLS handshake failed',
}

/** A connection that failed in TLS; `kind` says why. Its message is our description only. */
export class TlsFailureError extends Error {
  readonly kind: TlsFailureKind
  constructor(kind: TlsFailureKind, options?: { cause?: unknown }) {
    super(TLS_FAILURE_DESCRIPTIONS[kind], options)
    this.name = 'TlsFailureError'
    this.kind = kind
  }
}

// OpenSSL verification results (node:tls `error.code`) and alerts received from the server.
const NODE_CODES: Record<string, TlsFailureKind> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown_ca',
  CERT_UNTRUSTED: 'unknown_ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'name_mismatch',
  CERT_HAS_EXPIRED: 'certificate_expired',
  CERT_NOT_YET_VALID: 'certificate_expired',
  // RFC 8446 §6.2 alert 116; TLS 1.2 servers send handshake_failure (40) instead.
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client_certificate_required',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client_certificate_rejected',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client_certificate_rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client_certificate_rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'client_certificate_rejected',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'client_certificate_rejected',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'client_certificate_rejected',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'handshake_failed',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not_tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not_tls',
}

// rustls (Deno): "invalid peer certificate: UnknownIssuer", "received fatal alert: CertificateRequired".
const RUSTLS_MESSAGES: [RegExp, TlsFailureKind][] = [
  [/invalid peer certificate: (?:UnknownIssuer|BadSignature)/, 'unknown_ca'],
  [/invalid peer certificate: NotValidForName/, 'name_mismatch'],
  [/invalid peer certificate: (?:Expired|NotValidYet)/, 'certificate_expired'],
  [/received fatal alert: CertificateRequired/, 'client_certificate_required'],
  [/received fatal alert: (?:UnknownCA|BadCertificate|CertificateUnknown|CertificateExpired|AccessDenied|UnsupportedCertificate)/, 'client_certificate_rejected'],
  [/received corrupt message|InvalidContentType|corrupt message of type/, 'not_tls'],
  [/received fatal alert: HandshakeFailure|invalid peer certificate/, 'handshake_failed'],
]

/** The TLS failure somewhere in `error`'s cause chain, if it is one. */
export function classifyTlsFailure(error: unknown): TlsFailureKind | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof TlsFailureError) return current.kind
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && code in NODE_CODES) return NODE_CODES[code]
    for (const [pattern, kind] of RUSTLS_MESSAGES) if (pattern.test(current.message)) return kind
  }
  return undefined
}

/** Rethrows a fetch's TLS failures as TlsFailureError; everything else passes unchanged. */
export function withTlsFailureClassification(fetchImpl: typeof fetch, onFailure?: (error: TlsFailureError) => void): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchImpl(input, init)
    } catch (error) {
      const kind = classifyTlsFailure(error)
      if (kind === undefined) throw error
      const failure = error instanceof TlsFailureError ? error : new TlsFailureError(kind, { cause: error })
      onFailure?.(failure)
      throw failure
    }
  }
}

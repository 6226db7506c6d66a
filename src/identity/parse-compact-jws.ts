// RFC 7515 §7.1 compact serialization, read strictly and before any key or network is touched:
// everything here is cheap, bounded work on untrusted input. jose parses the token again when it
// verifies; both parse the same canonical bytes, so they cannot disagree.
import { invalidToken } from '../errors.ts'
import { decodeBase64urlStrict } from './decode-base64url-strict.ts'
import { hasDuplicateJsonKeys } from './has-duplicate-json-keys.ts'

/**
 * A projected token is ~1.2 KB; names are bounded by Kubernetes (namespace 63, ServiceAccount,
 * pod and node 253 characters), so 8 KiB holds the longest real token with room to spare.
 */
export const MAX_TOKEN_BYTES = 8 * 1024
/** kube-apiserver's header is `{"alg":"RS256","kid":"<43 characters>"}`: ~90 bytes encoded. */
export const MAX_HEADER_BYTES = 1024

export type JsonObject = Record<string, unknown>

export interface CompactJws {
  /** The token as given; jose verifies this exact string. */
  token: string
  encodedHeader: string
  encodedPayload: string
  signature: string
  header: JsonObject
  /** Not yet verified: only for choosing the cluster. */
  payload: JsonObject
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

function decodeJsonObject(segment: string, part: 'header' | 'payload'): JsonObject {
  const bytes = decodeBase64urlStrict(segment)
  if (bytes === undefined) throw invalidToken(`${part} is not canonical unpadded base64url`)
  let text: string
  let value: unknown
  try {
    text = strictUtf8.decode(bytes)
    value = JSON.parse(text)
  } catch {
    throw invalidToken(`${part} is not UTF-8 JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidToken(`${part} is not a JSON object`)
  if (hasDuplicateJsonKeys(text)) throw invalidToken(`${part} names a member twice`)
  return value as JsonObject
}

export function parseCompactJws(token: string): CompactJws {
  if (token.length > MAX_TOKEN_BYTES) throw invalidToken('token larger than MAX_TOKEN_BYTES')
  const segments = token.split('.')
  // RFC 7516 §7.1: a compact JWE has five segments. It is encrypted, not signed: never an identity.
  if (segments.length === 5) throw invalidToken('a JWE (five segments), not a signed JWS')
  if (segments.length !== 3) throw invalidToken(`not a compact JWS (${segments.length} segments, expected 3)`)
  const [encodedHeader, encodedPayload, signature] = segments as [string, string, string]
  if (encodedHeader.length > MAX_HEADER_BYTES) throw invalidToken('header larger than MAX_HEADER_BYTES')
  const header = decodeJsonObject(encodedHeader, 'header')
  const payload = decodeJsonObject(encodedPayload, 'payload')
  // Empty (what `alg: none` yields) is canonical too; the header policy refuses that alg.
  if (decodeBase64urlStrict(signature) === undefined) throw invalidToken('signature is not canonical unpadded base64url')
  return { token, encodedHeader, encodedPayload, signature, header, payload }
}

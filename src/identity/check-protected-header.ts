// The JOSE header policy. kube-apiserver writes `{alg, kid}` (pkg/serviceaccount/jwt.go; kid may
// be "" on old clusters) and legacy tokens `{alg, typ: "JWT"}`; nothing else. Header parameters
// that name their own key — jku, x5u, jwk, x5c (RFC 7515 §4.1.2–4.1.6) — and crit, b64, enc, zip
// are refused outright: keys come only from the cluster's JWKS, and a header jose might
// interpret is a header we would have to reason about.
import type { ClusterConfig } from '../config.ts'
import { invalidToken } from '../errors.ts'
import type { JsonObject } from './parse-compact-jws.ts'

const ALLOWED_HEADER_PARAMETERS = new Set(['alg', 'kid', 'typ'])
// `none` is unsigned and HMAC would turn a public key into a shared secret (the classic
// algorithm-confusion attack): refused whatever a cluster's allow-list says.
const NEVER_ACCEPTED_ALGORITHM = /^(none|HS\d*)$/i
// RFC 7519 §5.1: "JWT" (media types compare case-insensitively, RFC 7515 §4.1.9).
const JWT_TYPE = /^(application\/)?jwt$/i

export interface ProtectedHeader {
  alg: string
  /** undefined also when the token says `kid: ""`: old clusters send that for "no key id". */
  kid: string | undefined
}

export function checkProtectedHeader(header: JsonObject): ProtectedHeader {
  for (const name of Object.keys(header)) {
    if (!ALLOWED_HEADER_PARAMETERS.has(name)) throw invalidToken('header has a parameter kube-apiserver never sets (only alg, kid, typ)')
  }
  const { alg, kid, typ } = header
  if (typeof alg !== 'string' || alg === '') throw invalidToken('header has no alg')
  if (NEVER_ACCEPTED_ALGORITHM.test(alg)) throw invalidToken('alg none or HMAC is never accepted')
  if (kid !== undefined && typeof kid !== 'string') throw invalidToken('header kid is not a string')
  if (typ !== undefined && (typeof typ !== 'string' || !JWT_TYPE.test(typ))) throw invalidToken('header typ is not JWT')
  return { alg, kid: kid === '' ? undefined : kid }
}

export const isAlgorithmAllowed = (alg: string, cluster: ClusterConfig): boolean =>
  !NEVER_ACCEPTED_ALGORITHM.test(alg) && (cluster.algorithms as readonly string[]).includes(alg)

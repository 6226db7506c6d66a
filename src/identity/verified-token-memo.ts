// Verified tokens remembered (issue 9): pods present the same projected token on every read
// until the kubelet rotates it, and an RS256 verification costs ~200 µs of CPU on Node. A token
// that verified maps to what the verification established until the first of its `exp`, its
// maximum age (iat + maxTokenAgeSeconds) and its kubernetes.io `warnafter`, or until the key
// that verified it is no longer the key its cluster's key set gives for its header (a rotated or
// removed key, or a reloaded JWKS; asked at most once a second per key, KEY_RECHECK_MS). Legacy
// tokens, which never expire, are not remembered.
//
// Keyed by SHA-256 of the token, never by the token: the map outlives the request, and a bearer
// token kept in memory until its exp is a credential for whoever can read the process's memory.
// The digest is synchronous SHA-256: sha256-hex.ts (allocation-free, for Deno and Workers) unless
// the entry gives a cheaper one (node:crypto on Node), not crypto.subtle.digest, which costs ~60 µs
// on Node for its threadpool dispatch (NOTES.md); a non-cryptographic hash would let a crafted
// token collide with another pod's entry.
import { sha256Hex } from './sha256-hex.ts'
import type { Identity } from './identity.ts'
import type { CompactJws, JsonObject } from './parse-compact-jws.ts'
import { verifyServiceAccountTokenInDetail, type VerifiedToken, type VerifyDeps } from './verify-service-account-token.ts'
import { makeRoom } from '../evict-oldest.ts'

/**
 * A key found in its cluster's key set is taken as standing for this long before the set is asked
 * again: the ask was ~5 % of a cached read on Node (issue 9 profile), every token of a cluster
 * shares its key, and a key set changes only when it is reloaded (minutes apart), so this adds at
 * most a second to noticing a removed key.
 */
export const KEY_RECHECK_MS = 1000

/** Tokens remembered per process or isolate; the oldest go first. Each entry is ~0.5 KB. */
export const MAX_REMEMBERED_TOKENS = 10_000

interface Remembered {
  verified: VerifiedToken
  untilMs: number
}

export interface VerifiedTokenMemo {
  /** The identity of `token`: remembered, or verified now (throws the 401 verification throws). */
  verify(token: string, deps: VerifyDeps): Promise<Identity>
  /**
   * The identity of `token` when it is remembered (and still stands); undefined otherwise. Without
   * a promise while its key was confirmed within KEY_RECHECK_MS (issue 9: every cached read asks).
   */
  recall(token: string, deps: VerifyDeps): Identity | undefined | Promise<Identity | undefined>
  /** Entries held now (tests). */
  size(): number
}

// A key lookup takes the token only to pass it to jose's JWKS hook, which does not read it.
const NO_TOKEN = { token: '', encodedHeader: '', encodedPayload: '', signature: '', header: {}, payload: {} } satisfies CompactJws

/** Seconds since the epoch of the first end the claims give a token; undefined when there is none. */
function endOf(verified: VerifiedToken): number | undefined {
  if (verified.kind === 'legacy') return undefined
  const { payload, cluster } = verified
  const ends: number[] = []
  if (typeof payload.exp === 'number') ends.push(payload.exp)
  if (typeof payload.iat === 'number' && cluster.maxTokenAgeSeconds !== undefined) ends.push(payload.iat + cluster.maxTokenAgeSeconds)
  const warnAfter = (payload['kubernetes.io'] as JsonObject | undefined)?.warnafter
  if (typeof warnAfter === 'number') ends.push(warnAfter)
  return ends.length === 0 ? undefined : Math.min(...ends)
}

/** `digest`: hex SHA-256 (the Node entry gives node:crypto's one-shot hash, ~6× cheaper than sha256-hex.ts there). */
export function createVerifiedTokenMemo(options: { maxEntries?: number; digest?: (token: string) => string } = {}): VerifiedTokenMemo {
  const maxEntries = options.maxEntries ?? MAX_REMEMBERED_TOKENS
  const digestOf = options.digest ?? sha256Hex
  const remembered = new Map<string, Remembered>()

  // When each key was last found in its cluster's key set, for KEY_RECHECK_MS.
  const keyConfirmedAtMs = new WeakMap<CryptoKey, number>()

  function stillItsKey(entry: Remembered, nowMs: number, deps: VerifyDeps): boolean | Promise<boolean> {
    const confirmedAtMs = keyConfirmedAtMs.get(entry.verified.key)
    if (confirmedAtMs !== undefined && nowMs - confirmedAtMs < KEY_RECHECK_MS && nowMs >= confirmedAtMs) return true
    return askKeySet(entry, deps)
  }

  async function askKeySet(entry: Remembered, deps: VerifyDeps): Promise<boolean> {
    const { key } = entry.verified
    try {
      const stands = (await deps.keys(entry.verified.cluster).candidateKeys(entry.verified.header, NO_TOKEN)).includes(key)
      if (stands) keyConfirmedAtMs.set(key, deps.now())
      return stands
    } catch {
      return false // the key set cannot be had: verify in full, which decides
    }
  }

  function recallDigest(digest: string, deps: VerifyDeps): Identity | undefined | Promise<Identity | undefined> {
    const entry = remembered.get(digest)
    if (entry === undefined) return undefined
    const nowMs = deps.now()
    const stands = entry.untilMs > nowMs && stillItsKey(entry, nowMs, deps)
    if (stands === true) return entry.verified.identity
    if (stands === false) return forget(digest)
    return stands.then((still) => (still ? entry.verified.identity : forget(digest)))
  }

  const forget = (digest: string): undefined => void remembered.delete(digest)

  return {
    recall: (token, deps) => recallDigest(digestOf(token), deps),
    async verify(token, deps) {
      const digest = digestOf(token)
      const known = await recallDigest(digest, deps)
      if (known) return known
      const verified = await verifyServiceAccountTokenInDetail(token, deps)
      keyConfirmedAtMs.set(verified.key, deps.now())
      const end = endOf(verified)
      if (end !== undefined && end * 1000 > deps.now()) {
        makeRoom(remembered, maxEntries)
        remembered.set(digest, { verified, untilMs: end * 1000 })
      }
      return verified.identity
    },
    size: () => remembered.size,
  }
}

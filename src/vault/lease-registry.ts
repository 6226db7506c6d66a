// Which leased secrets (database creds and other dynamic secrets) were served recently, so the
// renewal job (lease-renewer.ts) renews those and lets idle ones expire (SPEC §5). Kept in the
// broker's cache, sealed like everything else, so a Workers cron run in another isolate (or
// another Node process on the same Redis) sees what every isolate served.
//
// The interface for whoever serves secrets (secret-broker.ts) is one call per served response:
//
//     await leases.noteServed(servedLeaseOf(request, secretParts, result))
//
// It ignores results without a lease, writes at most once per lease per `throttleMs`, and never
// fails the request (a cache fault only means the lease may not be renewed).
//
// The index of leases is a set in the cache (Redis SADD): processes and isolates noting leases at
// the same moment each add theirs, where a read-modify-write of one list would keep only one.
import type { SecureCache } from '../cache/secure-cache.ts'
import { identityScope, type Identity } from '../identity/identity.ts'
import type { SecretRead } from './read-secret.ts'
import { makeRoom } from '../evict-oldest.ts'

/**
 * The Vault token a lease was read with. Vault revokes a lease with its token, so renewing the
 * lease keeps it only as long as that token lives, whichever token asks for the renewal.
 */
export interface LeaseToken {
  accessor: string
  /** When the token ends, as last known (ms since epoch); absent for a token without a TTL. */
  expiresAtMs?: number
}

export interface ServedLease {
  /** Vault's lease_id, e.g. `database/creds/app/AbC…`. */
  leaseId: string
  /** identityScope(identity), auth mount and role: the cached Vault token that renews the lease. */
  identityScope: string
  authMount: string
  role: string
  /** The Vault path read: the renewal job checks the identity may still read it. */
  path: string
  /** The token that holds the lease (undefined: not known, so its end bounds the lease). */
  token: LeaseToken | undefined
  /** The parts of the `secret` cache entry that served it: a renewal extends that entry. */
  secretParts: readonly string[]
  /** When the lease ends, as the served entry says (ms since epoch), its token's end included. */
  expiresAtMs: number
  /** Vault's lease_duration when issued: the increment asked for at each renewal. */
  leaseDurationSeconds: number
  renewable: boolean
}

export interface LeaseRecord extends ServedLease {
  lastServedAtMs: number
}

export interface LeaseRegistry {
  noteServed(lease: ServedLease | undefined): Promise<void>
  /** Every lease still registered (the renewal job's work list). */
  records(): Promise<LeaseRecord[]>
  /** After a renewal: the new expiry. */
  save(record: LeaseRecord): Promise<void>
  /** Stops tracking leases (idle, gone at Vault): they are left to expire. */
  forget(leaseIds: readonly string[]): Promise<void>
}

/** The lease of a served secret, or undefined for one without (KV, PKI without generate_lease). */
export function servedLeaseOf(
  request: { identity: Identity; authMount: string; role: string; path: string },
  secretParts: readonly string[],
  result: { read: SecretRead; leaseExpiresAtMs: number | undefined; leaseToken?: LeaseToken },
): ServedLease | undefined {
  const secret = result.read.secret
  if (!secret.lease_id || !(secret.lease_duration > 0) || result.leaseExpiresAtMs === undefined) return undefined
  return {
    leaseId: secret.lease_id,
    identityScope: identityScope(request.identity),
    authMount: request.authMount,
    role: request.role,
    path: request.path,
    token: result.leaseToken,
    secretParts: [...secretParts],
    expiresAtMs: result.leaseExpiresAtMs,
    leaseDurationSeconds: secret.lease_duration,
    renewable: secret.renewable,
  }
}

// Cache entries of their own kind (`lease`): one index naming the records, one record per lease.
const INDEX_PARTS = ['index'] as const
const recordParts = (leaseId: string) => ['record', leaseId] as const
/** Every note re-arms it, so it lapses only a day after the last lease was served. */
const INDEX_TTL_SECONDS = 24 * 60 * 60
/** A bound on this isolate's throttle map; the oldest notes drop out first. */
const MAX_THROTTLED_LEASES = 5000
/** Records outlive their lease by this much, so the job can still see and drop them. */
const RECORD_GRACE_SECONDS = 60

export function createLeaseRegistry(deps: { cache: SecureCache; now: () => number; throttleMs: number }): LeaseRegistry {
  const { cache, now } = deps
  // leaseId → when this isolate last wrote its record.
  const written = new Map<string, number>()

  const recordTtl = (record: LeaseRecord) => Math.max(1, (record.expiresAtMs - now()) / 1000 + RECORD_GRACE_SECONDS)

  async function noteServed(lease: ServedLease | undefined): Promise<void> {
    if (!lease || lease.expiresAtMs <= now()) return
    const last = written.get(lease.leaseId)
    if (last !== undefined && now() - last < deps.throttleMs) return
    written.delete(lease.leaseId)
    makeRoom(written, MAX_THROTTLED_LEASES)
    written.set(lease.leaseId, now())
    // Keep the later expiry: the served entry may predate a renewal the job just made.
    const existing = await cache.get<LeaseRecord>('lease', recordParts(lease.leaseId))
    const record: LeaseRecord = {
      ...lease,
      secretParts: [...lease.secretParts],
      expiresAtMs: Math.max(lease.expiresAtMs, existing?.expiresAtMs ?? 0),
      lastServedAtMs: now(),
    }
    await cache.set('lease', recordParts(lease.leaseId), record, recordTtl(record))
    await cache.addToIndex('lease', INDEX_PARTS, recordParts(lease.leaseId), INDEX_TTL_SECONDS)
  }

  return {
    async noteServed(lease) {
      try {
        await noteServed(lease)
      } catch {
        // Bookkeeping only: never fail the response that is being served.
      }
    },
    records: () => cache.indexed<LeaseRecord>('lease', INDEX_PARTS),
    async save(record) {
      await cache.set('lease', recordParts(record.leaseId), record, recordTtl(record))
    },
    async forget(leaseIds) {
      if (leaseIds.length === 0) return
      await Promise.all(leaseIds.map((id) => cache.delete('lease', recordParts(id))))
      for (const id of leaseIds) written.delete(id)
      await cache.removeFromIndex('lease', INDEX_PARTS, leaseIds.map(recordParts))
    },
  }
}

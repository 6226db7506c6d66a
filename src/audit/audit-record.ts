// What the routes tell the audit trail about a request (docs/audit.md): the paths it named, the
// role the rules chose, and for each secret served where it came from. The audit middleware
// (audit-trail.ts) puts an empty record on the context and turns it into the request's one line.
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'

export type AuditCache = 'hit' | 'miss' | 'stale' | 'none'

export interface AuditRead {
  path: string
  cache: AuditCache
  /** Vault's `request_id` of the read, when this request made it (a miss): finds it in Vault's audit log. */
  vaultRequestId?: string
  /** Held in memory only; the line carries its pseudonym (seal.ts), never the lease id itself. */
  leaseId?: string
}

export interface AuditRecord {
  /** Every Vault path the request named, in order, noted before the rules decide (a 403 names it too). */
  paths: string[]
  role?: string
  reads: AuditRead[]
}

export const createAuditRecord = (): AuditRecord => ({ paths: [], reads: [] })

/** The request's record, or none when the route runs without the audit middleware (unit tests). */
const recordOf = (c: Context<AppEnv>): AuditRecord | undefined => c.get('audit')

export function notePath(c: Context<AppEnv>, path: string): void {
  const record = recordOf(c)
  if (record && !record.paths.includes(path)) record.paths.push(path)
}

export function noteRole(c: Context<AppEnv>, role: string): void {
  const record = recordOf(c)
  if (record) record.role = role
}

/** One secret served: its cache outcome, and Vault's request id and lease id when Vault was asked. */
export function noteRead(
  c: Context<AppEnv>,
  path: string,
  result: { cache: AuditCache; read: { secret: { request_id?: string; lease_id?: string } } },
): void {
  const record = recordOf(c)
  if (!record) return
  const { request_id: requestId, lease_id: leaseId } = result.read.secret
  const read: AuditRead = { path, cache: result.cache }
  // A hit or a stale entry holds the id of the read that filled it, not of this request.
  if (result.cache === 'miss' && requestId) read.vaultRequestId = requestId
  if (leaseId) read.leaseId = leaseId
  record.reads.push(read)
}

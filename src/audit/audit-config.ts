// BROKER_CONFIG.audit (docs/audit.md): every /v1 request is one `"type":"audit"` line on stdout;
// an optional HTTP sink receives the same events in batches.
import { z } from 'zod'

/** The secret binding that holds the sink header's value (a Worker secret, or an environment variable). */
export const AUDIT_SINK_HEADER_BINDING = 'AUDIT_SINK_HEADER_VALUE'

const sinkSchema = z.strictObject({
  /** Receives `POST` with a JSON array of audit events. */
  url: z.url(),
  /** Sent with the value of AUDIT_SINK_HEADER_VALUE, e.g. `Authorization` with `Bearer …`. */
  header: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name').default('Authorization'),
  /** One attempt's limit; a batch gets MAX_SINK_ATTEMPTS attempts. */
  timeoutMs: z.number().int().positive().max(30_000).default(5000),
  maxBatch: z.number().int().positive().max(1000).default(100),
})

export const auditSchema = z
  .strictObject({
    sink: sinkSchema.optional(),
    /** Vault's audit-device rule: no answer that cannot be recorded. A 503 while the sink fails. */
    required: z.boolean().default(false),
  })
  .refine((audit) => !audit.required || audit.sink !== undefined, { message: 'required needs a sink (stdout cannot refuse)', path: ['required'] })

export type AuditConfig = z.infer<typeof auditSchema>
export type AuditSinkConfig = NonNullable<AuditConfig['sink']>

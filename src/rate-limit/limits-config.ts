// BROKER_CONFIG.limits (docs/audit.md, "Abuse limits"): counted in Redis when the cache is Redis,
// so every process and isolate shares them; in memory otherwise.
import { z } from 'zod'

const failedAuthSchema = z.strictObject({
  /** Failed authentications (401) one client address may make per window before it gets 429s. */
  perAddress: z.number().int().positive(),
  windowSeconds: z.number().int().positive().max(86_400).default(60),
})

const readsSchema = z.strictObject({
  /** Requests to /v1/* one ServiceAccount (all its pods together) may make per window. */
  perIdentity: z.number().int().positive(),
  windowSeconds: z.number().int().positive().max(86_400).default(60),
})

export const DEFAULT_FAILED_AUTH = { perAddress: 100, windowSeconds: 60 } as const

export const limitsSchema = z.strictObject({
  /** On by default; `false` turns it off (e.g. behind a proxy that hides client addresses). */
  failedAuth: z.union([z.literal(false), failedAuthSchema]).default({ ...DEFAULT_FAILED_AUTH }),
  /** Off by default. */
  reads: readsSchema.optional(),
})

export type LimitsConfig = z.infer<typeof limitsSchema>

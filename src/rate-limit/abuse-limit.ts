// One abuse limit (docs/audit.md): counts hits per id in a window limiter and, once an id is over,
// answers it 429 from a local list until the window ends, so a flood costs no Redis call per
// request. Ids reach Redis as pseudonyms (seal.ts): no client address or identity in clear.
import { AppError } from '../errors.ts'
import type { WindowLimiter } from './window-limiter.ts'

const MAX_BLOCKED_IDS = 50_000

export interface AbuseLimit {
  /** Throws a 429 when `id` is over its limit (known to this process). */
  check(id: string): void
  /**
   * Counts one hit. The hit that uses up the window blocks the id from then on; one over the
   * limit (another process used it up) throws a 429 when `refuseNow`.
   */
  count(id: string, refuseNow: boolean): Promise<void>
}

export function createAbuseLimit(options: {
  limiter: WindowLimiter
  now: () => number
  pseudonym: (id: string) => Promise<string>
  refusal: (retryAfterSeconds: number) => AppError
  onRefused?: () => void
}): AbuseLimit {
  const blockedUntil = new Map<string, number>()
  const refuse = (untilMs: number) => {
    options.onRefused?.()
    return options.refusal(Math.max(1, Math.ceil((untilMs - options.now()) / 1000)))
  }
  return {
    check(id) {
      const until = blockedUntil.get(id)
      if (until === undefined) return
      if (until > options.now()) throw refuse(until)
      blockedUntil.delete(id)
    },
    async count(id, refuseNow) {
      const { allowed, remaining, resetAtMs } = await options.limiter.hit(await options.pseudonym(id))
      // (resetAtMs 0: Redis did not answer in time and the limiter let the hit through uncounted.)
      if (allowed && (remaining > 0 || resetAtMs === 0)) return
      if (blockedUntil.size >= MAX_BLOCKED_IDS) blockedUntil.clear()
      blockedUntil.set(id, resetAtMs)
      if (!allowed && refuseNow) throw refuse(resetAtMs)
    },
  }
}

// Fixed-window counters for the abuse limits: @upstash/ratelimit over the Upstash REST protocol
// when the broker has Redis (every process and isolate counts together), a Map otherwise.
// Fixed windows: one Lua call per hit, and Retry-After is exactly the window's end.
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import type { Logger } from '../logger.ts'
import { keptWhenFull, trimOldest } from '../evict-oldest.ts'

export interface WindowHit {
  allowed: boolean
  /** Hits left in this window after this one. */
  remaining: number
  /** When the window that counted this hit ends (ms since epoch). */
  resetAtMs: number
}

export interface WindowLimiter {
  /** Counts one hit for `id`. Never throws: a Redis fault lets the request through (logged). */
  hit(id: string): Promise<WindowHit>
}

export interface WindowOptions {
  name: string
  limit: number
  windowSeconds: number
}

/** How long a Redis call may take before the limit lets the request through (ratelimit's `timeout`). */
const REDIS_TIMEOUT_MS = 1000

export function createRedisWindowLimiter(upstash: { url: string; token: string }, options: WindowOptions, log: Logger): WindowLimiter {
  const ratelimit = new Ratelimit({
    // No retries: a limit that waits seconds for Redis would slow every request it guards.
    redis: new Redis({ url: upstash.url, token: upstash.token, retry: false, enableTelemetry: false }),
    limiter: Ratelimit.fixedWindow(options.limit, `${options.windowSeconds} s`),
    prefix: `vault-edge:limit:${options.name}`,
    // The caller keeps its own list of blocked ids (abuse-limit.ts).
    ephemeralCache: false,
    timeout: REDIS_TIMEOUT_MS,
    analytics: false,
  })
  let failing = false
  return {
    async hit(id) {
      try {
        const { success, remaining, reset } = await ratelimit.limit(id)
        failing = false
        return { allowed: success, remaining, resetAtMs: reset }
      } catch (error) {
        // Only the class: @upstash/redis quotes the command in its message (NOTES).
        if (!failing) log.log('warn', 'abuse limit not counted: Redis failed; requests pass until it answers', { limit: options.name, error: error instanceof Error ? error.name : typeof error })
        failing = true
        return { allowed: true, remaining: 1, resetAtMs: 0 }
      }
    },
  }
}

/** Bounds the Map when many addresses each fail once (a spray from many sources). */
const MAX_MEMORY_IDS = 50_000

// Hand-written because @upstash/ratelimit has no store of its own: its ephemeralCache only
// remembers ids already blocked, the counting is always in Redis.
export function createMemoryWindowLimiter(options: WindowOptions, now: () => number): WindowLimiter {
  const windowMs = options.windowSeconds * 1000
  const counts = new Map<string, { window: number; hits: number }>()
  return {
    async hit(id) {
      const window = Math.floor(now() / windowMs)
      let entry = counts.get(id)
      if (entry?.window !== window) {
        if (counts.size >= MAX_MEMORY_IDS) {
          for (const [key, old] of counts) if (old.window !== window) counts.delete(key)
          trimOldest(counts, keptWhenFull(MAX_MEMORY_IDS))
        }
        entry = { window, hits: 0 }
        counts.set(id, entry)
      }
      entry.hits++
      return { allowed: entry.hits <= options.limit, remaining: Math.max(0, options.limit - entry.hits), resetAtMs: (window + 1) * windowMs }
    },
  }
}

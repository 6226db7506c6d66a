// Redis through the Upstash REST protocol. @upstash/redis puts the whole command, values
// included, into its error messages (NOTES.md): every error is replaced by one that holds none.
import { Redis } from '@upstash/redis/cloudflare'
import { assertValidTtl, CacheUnavailableError, type CacheStore } from './cache-store.ts'

export const REDIS_TIMEOUT_MS = 1000

export function createUpstashStore(options: { url: string; token: string; timeoutMs?: number }): CacheStore {
  const timeoutMs = options.timeoutMs ?? REDIS_TIMEOUT_MS
  const redis = new Redis({
    url: options.url,
    token: options.token,
    // Stored strings back byte for byte, not JSON.parse'd.
    automaticDeserialization: false,
    enableTelemetry: false,
    // The broker falls back to Vault when Redis is down; retrying for seconds would only delay that.
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  })

  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (error) {
      const reason = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? 'timed out' : 'failed'
      throw new CacheUnavailableError(`Redis ${operation} ${reason}`)
    }
  }

  return {
    kind: 'redis',
    get: (key) => guard('GET', () => redis.get<string>(key)),
    async set(key, value, { ttlSeconds, onlyIfAbsent }) {
      assertValidTtl(ttlSeconds)
      const answer = await guard('SET', () =>
        onlyIfAbsent ? redis.set(key, value, { ex: ttlSeconds, nx: true }) : redis.set(key, value, { ex: ttlSeconds }),
      )
      return answer !== null
    },
    async delete(key) {
      await guard('DEL', () => redis.del(key))
    },
    async addToSet(key, member, { ttlSeconds }) {
      assertValidTtl(ttlSeconds)
      await guard('SADD', () => redis.multi().sadd(key, member).expire(key, ttlSeconds).exec())
    },
    setMembers: (key) => guard('SMEMBERS', () => redis.smembers<string[]>(key)),
    async removeFromSet(key, members) {
      if (members.length > 0) await guard('SREM', () => redis.srem(key, ...members))
    },
    async ping() {
      await guard('PING', () => redis.ping())
    },
  }
}

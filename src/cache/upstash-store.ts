// Redis through the Upstash REST protocol. @upstash/redis puts the whole command, values
// included, into its error messages (NOTES.md): every error is replaced by one that holds none.
import { Redis } from '@upstash/redis/cloudflare'
import { assertValidTtl, CacheUnavailableError, type CacheStore } from './cache-store.ts'

export const REDIS_TIMEOUT_MS = 1000

// Compare-and-set and compare-and-delete as Lua scripts (EVAL, which Upstash supports): Redis runs
// a script without interleaving other commands, so nothing lands between the GET and the write.
const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0`
const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

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
    async compareAndSet(key, expected, value, { ttlSeconds }) {
      assertValidTtl(ttlSeconds)
      return (await guard('EVAL', () => redis.eval(COMPARE_AND_SET, [key], [expected, value, ttlSeconds]))) === 1
    },
    async compareAndDelete(key, expected) {
      return (await guard('EVAL', () => redis.eval(COMPARE_AND_DELETE, [key], [expected]))) === 1
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

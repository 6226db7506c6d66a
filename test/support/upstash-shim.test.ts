// The Upstash shim must be indistinguishable from Upstash for @upstash/redis: these
// round trips use the real client against the shim over a real Redis.
import { createHash, randomUUID } from 'node:crypto'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startPrivateRedis, type PrivateRedis } from './redis.ts'
import { startUpstashShim, type UpstashShim } from './upstash-shim.ts'

const url = inject('upstashUrl')
const token = inject('upstashToken')
const client = (options: { token?: string; url?: string } = {}) =>
  new Redis({
    url: options.url ?? url,
    token: options.token ?? token,
    enableTelemetry: false,
    automaticDeserialization: false,
    retry: false,
  })
const redis = client()
// The shared Redis may be 127.0.0.1:6379: every key of this file lives under one prefix.
const prefix = `shim-test:${randomUUID()}:`
const key = (name: string) => `${prefix}${name}`

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
})

describe('@upstash/redis through the shim', () => {
  it('sets with EX, gets byte for byte, and deletes', async () => {
    const value = `{"a":1} 'quoted' $HOME ünïcödé 🔑\n\u0000end`
    expect(await redis.set(key('s'), value, { ex: 30 })).toBe('OK')
    expect(await redis.get(key('s'))).toBe(value)
    const ttl = await redis.ttl(key('s'))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(30)
    expect(await redis.del(key('s'))).toBe(1)
    expect(await redis.get(key('s'))).toBeNull()
  })

  it('keeps numeric-looking strings as strings without automatic deserialization', async () => {
    await redis.set(key('n'), '42')
    expect(await redis.get(key('n'))).toBe('42')
    expect(await redis.incr(key('n'))).toBe(43)
  })

  it('honours SET NX', async () => {
    expect(await redis.set(key('nx'), 'first', { nx: true, ex: 30 })).toBe('OK')
    expect(await redis.set(key('nx'), 'second', { nx: true, ex: 30 })).toBeNull()
    expect(await redis.get(key('nx'))).toBe('first')
  })

  it('rejects EX 0 as Redis does, with the error text of Redis', async () => {
    await expect(redis.set(key('ex0'), 'v', { ex: 0 })).rejects.toThrow(/invalid expire time/)
  })

  it('runs EVAL scripts', async () => {
    const result = await redis.eval("return redis.call('SET', KEYS[1], ARGV[1], 'EX', 30)", [key('lua')], ['via-lua'])
    expect(result).toBe('OK')
    expect(await redis.eval("return redis.call('GET', KEYS[1])", [key('lua')], [])).toBe('via-lua')
  })

  it('runs @upstash/ratelimit: its scripts carry a shebang flag Redis 7 refuses, EVALSHA falls back to EVAL once', async () => {
    const limiter = new Ratelimit({ redis: client(), limiter: Ratelimit.fixedWindow(2, '60 s'), prefix: key('rl'), ephemeralCache: false, timeout: 0, analytics: false })
    const results = []
    for (let i = 0; i < 4; i++) results.push((await limiter.limit('id')).success)
    expect(results).toEqual([true, true, false, false])
    // As Upstash answers: SCRIPT LOAD gives the SHA1 of the text sent, and EVALSHA then finds it.
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])"
    const sha = await redis.scriptLoad(script)
    expect(sha).toBe(createHash('sha1').update(script).digest('hex'))
    expect(await redis.evalsha(sha, [key('counter')], [])).toBe(1)
    expect(await redis.scriptExists(sha)).toEqual([1])
    await expect(redis.evalsha('0'.repeat(40), [key('counter')], [])).rejects.toThrow(/NOSCRIPT/)
  })

  it('scans and lists keys', async () => {
    await redis.mset({ [key('scan:a')]: '1', [key('scan:b')]: '2' })
    expect((await redis.keys(key('scan:*'))).sort()).toEqual([key('scan:a'), key('scan:b')])
    const found: string[] = []
    let cursor: string | number = 0
    do {
      const [next, batch]: [string | number, string[]] = await redis.scan(cursor, { match: key('scan:*'), count: 100 })
      found.push(...batch)
      cursor = next
    } while (String(cursor) !== '0')
    expect(found.sort()).toEqual([key('scan:a'), key('scan:b')])
  })

  it('returns HGETALL as Upstash does (a flat array without deserialization)', async () => {
    await redis.hset(key('h'), { a: '1', b: 'two' })
    expect(await redis.hgetall(key('h'))).toEqual(['a', '1', 'b', 'two'])
    expect(await client().hget(key('h'), 'b')).toBe('two')
  })

  it('runs pipelines and keeps per-command errors apart', async () => {
    const pipe = redis.pipeline()
    pipe.set(key('p'), 'v')
    pipe.get(key('p'))
    pipe.hset(key('p'), { f: 'x' }); // WRONGTYPE
    pipe.del(key('p'))
    const results = await pipe.exec({ keepErrors: true })
    expect(results.map((r) => r.result)).toEqual(['OK', 'v', undefined, 1])
    expect(results[2]?.error).toMatch(/WRONGTYPE/)
  })

  it('runs MULTI/EXEC transactions', async () => {
    const tx = redis.multi()
    tx.set(key('t'), '1')
    tx.incr(key('t'))
    tx.get(key('t'))
    expect(await tx.exec()).toEqual(['OK', 2, '2'])
  })

  it('auto-pipelines concurrent commands', async () => {
    const auto = new Redis({ url, token, enableTelemetry: false, automaticDeserialization: false, retry: false, enableAutoPipelining: true })
    await auto.set(key('auto'), 'x')
    expect(await Promise.all([auto.get(key('auto')), auto.exists(key('auto')), auto.get(key('missing'))])).toEqual(['x', 1, null])
  })

  it('refuses a wrong token with 401 and Upstash’s message', async () => {
    await expect(client({ token: 'wrong' }).get(key('x'))).rejects.toThrow(/WRONGPASS invalid or missing auth token/)
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(['get', 'x']) })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'WRONGPASS invalid or missing auth token' })
  })
})

describe('the REST protocol', () => {
  const post = async (path: string, body: unknown, base64 = true) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(base64 ? { 'upstash-encoding': 'base64' } : {}) },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: await res.json() }
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64')

  it('base64-encodes every string, status replies and nested ones included; numbers and nil stay', async () => {
    expect(await post('/', ['set', key('e'), 'héllo'])).toEqual({ status: 200, body: { result: b64('OK') } })
    expect((await post('/', ['get', key('e')])).body).toEqual({ result: b64('héllo') })
    expect((await post('/', ['strlen', key('e')])).body).toEqual({ result: 6 })
    expect((await post('/', ['get', key('none')])).body).toEqual({ result: null })
    expect((await post('/', ['mget', key('e'), key('none')])).body).toEqual({ result: [b64('héllo'), null] })
    expect((await post('/', ['get', key('e')], false)).body).toEqual({ result: 'héllo' })
  })

  it('answers a failing single command with 400 and {error}', async () => {
    expect(await post('/', ['nosuchcommand'])).toMatchObject({ status: 400, body: { error: expect.stringMatching(/unknown command/i) } })
  })

  it('answers pipelines with one {result} or {error} per command', async () => {
    const { status, body } = await post('/pipeline', [['set', key('pl'), 'a'], ['lpush', key('pl'), 'x'], ['get', key('pl')]])
    expect(status).toBe(200)
    expect(body).toEqual([{ result: b64('OK') }, { error: expect.stringMatching(/WRONGTYPE/) }, { result: b64('a') }])
  })

  it('refuses commands that would hold or change the shared connection', async () => {
    expect((await post('/', ['select', '2'])).status).toBe(400)
    expect((await post('/', ['blpop', key('q'), '0'])).status).toBe(400)
  })
})

describe('a private shim', () => {
  let privateRedis: PrivateRedis
  let shim: UpstashShim
  beforeAll(async () => {
    privateRedis = await startPrivateRedis()
    shim = await startUpstashShim({ redisUrl: privateRedis.url, token: 'private-token' })
  })
  afterAll(async () => {
    await shim?.stop()
    await privateRedis?.stop()
  })
  const privateClient = () => client({ url: shim.url, token: 'private-token' })

  it('counts requests and commands', async () => {
    shim.resetCounts()
    await privateClient().set('a', '1')
    const pipe = privateClient().pipeline()
    pipe.get('a')
    pipe.get('b')
    await pipe.exec()
    expect(shim.requestCount()).toBe(2)
    expect(shim.commandCount()).toBe(3)
    expect(shim.commandLog()).toEqual([['SET', 'a', '1'], ['GET', 'a'], ['GET', 'b']])
  })

  it('simulates a slow Redis', async () => {
    shim.setDelayMs(150)
    const startedAt = Date.now()
    await privateClient().get('a')
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140)
    shim.setDelayMs(0)
  })

  it('answers 503 while set down', async () => {
    shim.setDown(true)
    await expect(privateClient().get('a')).rejects.toThrow(/Service Unavailable/)
    shim.setDown(false)
    expect(await privateClient().get('a')).toBe('1')
  })

  it('answers errors, not hangs, once Redis is gone', async () => {
    await privateRedis.stop()
    const startedAt = Date.now()
    await expect(privateClient().get('a')).rejects.toThrow()
    expect(Date.now() - startedAt).toBeLessThan(5000)
  })
})

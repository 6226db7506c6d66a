/**
 * An Upstash-REST-compatible HTTP server over a real Redis, for tests of code that
 * uses `@upstash/redis`. It speaks the protocol as @upstash/redis 1.39.0 uses it
 * (checked against the client's source and traffic):
 *
 * - `POST /` with one command array (`["set","k","v","ex",10]`) → `{"result": …}`, or
 *   HTTP 400 `{"error": "…"}` when Redis answers with an error;
 * - `POST /pipeline` and `POST /multi-exec` with an array of command arrays → an array of
 *   `{"result": …}` / `{"error": "…"}` (200); a transaction Redis aborts is a 400;
 * - also the path form for curl: `GET /get/key`, `POST /set/key` with the value as body;
 * - `Authorization: Bearer <token>` is required (401 `WRONGPASS invalid or missing auth
 *   token` otherwise, Upstash's message);
 * - `Upstash-Encoding: base64`: every string in the answer (bulk and status replies,
 *   strings inside arrays) is base64 of its bytes; integers stay JSON numbers, nil is null.
 *
 * - Lua scripts (EVAL, EVALSHA, SCRIPT LOAD/EXISTS), with Upstash's extra shebang flags dropped
 *   before open-source Redis sees them (see runScriptCommand).
 *
 * Command names are upper-cased before ioredis sees them: ioredis reshapes the replies
 * of some lower-case commands (hgetall → object). Commands that would change or block
 * the shared connection (SELECT, SUBSCRIBE, BLPOP, MULTI…) are refused, as Upstash does.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Redis } from 'ioredis'

export interface UpstashShimOptions {
  /** `redis://127.0.0.1:PORT[/db]` */
  redisUrl: string
  /** REST token clients must present. */
  token: string
  port?: number
}

export interface UpstashShim {
  /** `http://127.0.0.1:PORT` — UPSTASH_REDIS_REST_URL */
  url: string
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string
  /** Delay every answer by `ms` (a slow Redis or a slow network). */
  setDelayMs(ms: number): void
  /** While down, every request answers 503 with a JSON error (the client does not retry HTTP errors). */
  setDown(down: boolean): void
  /** HTTP requests received (authorised or not). */
  requestCount(): number
  /** Redis commands executed (a pipeline of 3 counts 3). */
  commandCount(): number
  /** Commands executed, names upper-case, arguments included (test assertions, e.g. no plaintext in keys). */
  commandLog(): string[][]
  resetCounts(): void
  stop(): Promise<void>
}

type Reply = null | number | Buffer | string | Reply[]
type Json = null | number | string | Json[]

const REFUSED_COMMANDS = new Set([
  'SELECT', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE',
  'MONITOR', 'SYNC', 'PSYNC', 'QUIT', 'RESET', 'HELLO', 'AUTH', 'CLIENT',
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH',
  'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP', 'WAIT', 'WAITAOF',
])

/** Lua scripting, as @upstash/ratelimit uses it (EVALSHA, falling back to EVAL on NOSCRIPT). */
const SCRIPT_COMMANDS = new Set(['EVAL', 'EVAL_RO', 'EVALSHA', 'EVALSHA_RO', 'SCRIPT'])

/** The log keeps the first commands only, so long runs (benchmarks) do not grow memory. */
const COMMAND_LOG_LIMIT = 10_000

class CommandError extends Error {}

function toArgs(command: unknown): [string, (string | Buffer)[]] {
  if (!Array.isArray(command) || command.length === 0) throw new CommandError('ERR command must be a non-empty array')
  const [name, ...rest] = command
  if (typeof name !== 'string' || name === '') throw new CommandError('ERR command name must be a string')
  const upper = name.toUpperCase()
  if (REFUSED_COMMANDS.has(upper)) throw new CommandError(`ERR Command is not available: '${upper}'`)
  const args = rest.map((arg) => {
    if (typeof arg === 'string') return arg
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg)
    if (arg === null) return ''
    return JSON.stringify(arg)
  })
  return [upper, args]
}

function encodeReply(reply: Reply, base64: boolean): Json {
  if (reply === null || reply === undefined) return null
  if (typeof reply === 'number') return reply
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64))
  const bytes = typeof reply === 'string' ? Buffer.from(reply, 'utf8') : reply
  return base64 ? bytes.toString('base64') : bytes.toString('utf8')
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export async function startUpstashShim(options: UpstashShimOptions): Promise<UpstashShim> {
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    // Fail fast when Redis is gone, so the shim answers an error instead of hanging.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  })
  redis.on('error', () => {
    // Connection errors surface per command; without a listener ioredis logs them.
  })
  await redis.connect()

  let delayMs = 0
  let down = false
  let requests = 0
  let commands = 0
  let log: string[][] = []

  const record = (name: string, args: (string | Buffer)[]) => {
    commands++
    if (log.length < COMMAND_LOG_LIMIT) log.push([name, ...args.map((a) => a.toString())])
  }

  // Upstash accepts Lua shebang flags that open-source Redis 7 refuses (`ERR Unexpected flag in
  // script shebang: allow-key-locking`, which @upstash/ratelimit sets). Scripts reach Redis without
  // them; the client keeps using the SHA1 of the text it sent, mapped here to the stripped one.
  const scriptShas = new Map<string, string>()
  const stripUpstashFlags = (script: string): string =>
    script.replace(/^#!lua flags=([^\n]*)/, (_line, flags: string) => {
      const kept = flags.split(',').filter((flag) => flag.trim() !== '' && flag.trim() !== 'allow-key-locking')
      return kept.length > 0 ? `#!lua flags=${kept.join(',')}` : '#!lua'
    })
  const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')
  const rememberScript = (script: string): string => {
    const stripped = stripUpstashFlags(script)
    scriptShas.set(sha1(script), sha1(stripped))
    return stripped
  }

  async function runScriptCommand(name: string, args: (string | Buffer)[]): Promise<Reply> {
    const [first, ...rest] = args.map((arg) => arg.toString())
    if (name === 'EVAL' || name === 'EVAL_RO') return (await redis.callBuffer(name, rememberScript(first ?? ''), ...rest)) as Reply
    if (name === 'EVALSHA' || name === 'EVALSHA_RO') {
      // Unknown to the shim: NOSCRIPT, as Redis says it, so the client falls back to EVAL.
      const stored = scriptShas.get((first ?? '').toLowerCase()) ?? first ?? ''
      return (await redis.callBuffer(name, stored, ...rest)) as Reply
    }
    // SCRIPT LOAD answers the SHA1 of the script as the client sent it (what it will EVALSHA).
    if (rest[0] === undefined) return (await redis.callBuffer(name, first ?? '')) as Reply
    const sub = (first ?? '').toUpperCase()
    if (sub === 'LOAD') {
      await redis.callBuffer('SCRIPT', 'LOAD', rememberScript(rest[0]))
      return sha1(rest[0])
    }
    if (sub === 'EXISTS') return (await redis.callBuffer('SCRIPT', 'EXISTS', ...rest.map((sha) => scriptShas.get(sha.toLowerCase()) ?? sha))) as Reply
    return (await redis.callBuffer(name, first ?? '', ...rest)) as Reply
  }

  async function runOne(command: unknown): Promise<Reply> {
    const [name, args] = toArgs(command)
    record(name, args)
    if (SCRIPT_COMMANDS.has(name)) return runScriptCommand(name, args)
    return (await redis.callBuffer(name, ...args)) as Reply
  }

  async function runTransaction(list: unknown[]): Promise<{ result?: Reply; error?: string }[]> {
    const parsed = list.map(toArgs)
    const multi = redis.multi()
    for (const [name, args] of parsed) {
      record(name, args)
      multi.callBuffer(name, ...args)
    }
    const results = await multi.exec()
    if (results === null) throw new CommandError('EXECABORT Transaction discarded')
    return results.map(([err, result]) => (err ? { error: errorMessage(err) } : { result: result as Reply }))
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
    if (down) {
      sendJson(res, 503, { error: 'Service Unavailable' })
      return
    }
    const auth = req.headers.authorization ?? ''
    const presented = /^Bearer\s+(.+)$/i.exec(auth)?.[1]
    if (presented !== options.token) {
      sendJson(res, 401, { error: 'WRONGPASS invalid or missing auth token' })
      return
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    const url = new URL(req.url ?? '/', 'http://shim')
    const raw = await readBody(req)
    const encode = (reply: Reply) => encodeReply(reply, base64)

    if ((url.pathname === '/pipeline' || url.pathname === '/multi-exec') && req.method === 'POST') {
      let list: unknown
      try {
        list = JSON.parse(raw.toString('utf8'))
      } catch {
        sendJson(res, 400, { error: 'ERR failed to parse pipeline request' })
        return
      }
      if (!Array.isArray(list) || list.length === 0) {
        sendJson(res, 400, { error: 'ERR pipeline request must be a non-empty array of commands' })
        return
      }
      if (url.pathname === '/multi-exec') {
        try {
          const results = await runTransaction(list)
          sendJson(res, 200, results.map((r) => (r.error !== undefined ? { error: r.error } : { result: encode(r.result ?? null) })))
        } catch (err) {
          sendJson(res, 400, { error: errorMessage(err) })
        }
        return
      }
      // A pipeline is not atomic (as on Upstash): commands run in order on one connection.
      const settled = await Promise.allSettled(list.map((command) => runOne(command)))
      sendJson(
        res,
        200,
        settled.map((s) => (s.status === 'fulfilled' ? { result: encode(s.value) } : { error: errorMessage(s.reason) })),
      )
      return
    }

    let command: unknown
    if (url.pathname === '/' || url.pathname === '') {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'ERR use POST with a JSON command array' })
        return
      }
      try {
        command = JSON.parse(raw.toString('utf8'))
      } catch {
        sendJson(res, 400, { error: 'ERR failed to parse command' })
        return
      }
    } else {
      // Path form: /set/key/value, or POST /set/key with the value as the body.
      command = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent)
      if (req.method === 'POST' && raw.length > 0) (command as string[]).push(raw.toString('utf8'))
    }
    try {
      sendJson(res, 200, { result: encode(await runOne(command)) })
    } catch (err) {
      sendJson(res, 400, { error: errorMessage(err) })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: errorMessage(err) })
      else res.destroy()
    })
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port ?? 0, host: '127.0.0.1' }, () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    setDelayMs: (ms) => {
      delayMs = ms
    },
    setDown: (value) => {
      down = value
    },
    requestCount: () => requests,
    commandCount: () => commands,
    commandLog: () => log.map((c) => [...c]),
    resetCounts: () => {
      requests = 0
      commands = 0
      log = []
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      redis.disconnect()
    },
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

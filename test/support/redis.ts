import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import { hasExited, killOnExit, killProcessGroup, signalGroup, freezeGroup } from './child-process.ts'
import { getFreePort } from './free-port.ts'

export interface RedisHandle {
  /** `redis://127.0.0.1:PORT` */
  url: string
  port: number
  /** True when this handle started the server (and `stop()` kills it). */
  owned: boolean
  stop(): Promise<void>
}

/** A redis-server of our own: `pause()`/`resume()` (SIGSTOP/SIGCONT) make it hang rather than refuse. */
export interface PrivateRedis extends RedisHandle {
  pid: number
  pause(): void
  resume(): void
}

const DEFAULT_REDIS_PORT = 6379
const START_TIMEOUT_MS = 10_000

export const REDIS_MISSING_MESSAGE =
  'redis-server is not installed and nothing answers at 127.0.0.1:6379. ' +
  'Install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) ' +
  'or start a Redis on 127.0.0.1:6379, then run `npm run setup`.'

/** Sends an inline PING and waits for `+PONG` (RESP), without any client library. */
export async function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port })
    let answer = ''
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
    socket.once('error', () => done(false))
  })
}

export function isRedisServerInstalled(): boolean {
  const result = spawnSync('redis-server', ['--version'], { stdio: 'ignore' })
  return result.error === undefined && result.status === 0
}

/** Redis at 127.0.0.1:6379 when it answers PING, else a private redis-server on a free port. */
export async function ensureRedis(): Promise<RedisHandle> {
  if (await pingRedis(DEFAULT_REDIS_PORT)) {
    return {
      url: `redis://127.0.0.1:${DEFAULT_REDIS_PORT}`,
      port: DEFAULT_REDIS_PORT,
      owned: false,
      stop: async () => {},
    }
  }
  return await startPrivateRedis()
}

/**
 * Always starts its own redis-server on a free port, without persistence, for tests
 * that stop or pause Redis mid-run.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  if (!isRedisServerInstalled()) throw new Error(REDIS_MISSING_MESSAGE)
  let lastError: Error | undefined
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await getFreePort()
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    )
    let output = ''
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
    try {
      await waitUntilUp(child, port, () => output)
    } catch (err) {
      await killProcessGroup(child)
      lastError = err as Error
      if (/Address already in use/i.test(output)) continue
      throw err
    }
    const pid = child.pid as number
    const unregister = killOnExit(child)
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      owned: true,
      pid,
      pause: () => freezeGroup(pid),
      resume: () => signalGroup(pid, 'SIGCONT'),
      stop: async () => {
        await killProcessGroup(child)
        unregister()
      },
    }
  }
  throw lastError ?? new Error('redis-server did not start')
}

async function waitUntilUp(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${output().trim()}`)
    }
    if (await pingRedis(port)) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms: ${output().trim()}`)
}

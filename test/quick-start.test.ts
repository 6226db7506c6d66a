// The README's quick start, run as written (in a scratch copy of the repository, so a developer's
// own .dev.vars is never touched): `npm run stack`, `npm run dev` (wrangler dev), `npm run token`,
// then the curl, which must print the demo secret. `npm run start:node` and `npm run start:deno`
// read the same .dev.vars. Stopping the stack removes what it wrote.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasExited, killOnExit, killProcessGroup } from './support/child-process.ts'
import { getFreePort } from './support/free-port.ts'

const REPO = process.cwd()
const READY_TIMEOUT_MS = 60_000

/** The first ```sh block under "## Quick start", one command per line, comments dropped. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const section = readme.split('\n## Quick start\n')[1] ?? ''
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '')
}

interface Background {
  child: ChildProcess
  output(): string
  stop(): Promise<void>
}

/** `exec`: the child is npm itself, as when a user runs the command in a terminal. */
function inBackground(dir: string, command: string, env: Record<string, string> = {}): Background {
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const unregister = killOnExit(child)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return { child, output: () => output, stop: async () => (await killProcessGroup(child, 10_000), unregister()) }
}

async function waitFor(what: string, background: Background, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (!(await ready())) {
    if (hasExited(background.child)) throw new Error(`${what} exited:\n${background.output()}`)
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${READY_TIMEOUT_MS} ms:\n${background.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const healthy = (url: string) => () => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
const run = (dir: string, command: string) => promisify(execFile)('sh', ['-c', command], { cwd: dir, timeout: 60_000 })

let dir: string
const running: Background[] = []
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vault-edge-quick-start-'))
  for (const file of ['package.json', 'package-lock.json', 'wrangler.toml', 'tsconfig.json']) copyFileSync(join(REPO, file), join(dir, file))
  for (const link of ['src', 'scripts', 'test', 'node_modules', '.venv']) symlinkSync(join(REPO, link), join(dir, link))
})
afterAll(async () => {
  await Promise.all(running.map((background) => background.stop()))
  rmSync(dir, { recursive: true, force: true })
})

describe('the README quick start', () => {
  it('stack, dev, token, curl: prints the secret; start:node and start:deno read the same .dev.vars', async () => {
    const commands = quickStartCommands()
    expect(commands).toHaveLength(4)
    const [stackCommand, devCommand, tokenCommand, curlCommand] = commands as [string, string, string, string]
    expect(stackCommand).toBe('npm run stack')
    expect(devCommand).toBe('npm run dev')
    expect(tokenCommand).toBe('npm run token -- --namespace demo --service-account myapp --out .tmp/token')
    expect(curlCommand).toContain('http://127.0.0.1:8787/')

    const stack = inBackground(dir, stackCommand)
    running.push(stack)
    await waitFor('npm run stack', stack, () => stack.output().includes('] ready.'))
    expect(readFileSync(join(dir, '.dev.vars'), 'utf8')).toContain("BROKER_CONFIG='")
    expect(stack.output()).toContain(join(dir, '.dev.vars'))

    // The documented port is 8787; here a free one, so the test never fights a developer's server.
    const port = await getFreePort()
    const dev = inBackground(dir, `${devCommand} -- --port ${port} --inspector-port 0 --log-level warn`)
    running.push(dev)
    await waitFor('npm run dev', dev, healthy(`http://127.0.0.1:${port}`))

    await run(dir, tokenCommand)
    expect(statSync(join(dir, '.tmp/token')).mode & 0o777).toBe(0o600)
    const { stdout } = await run(dir, curlCommand.replace('127.0.0.1:8787', `127.0.0.1:${port}`))
    expect(stdout).toContain("export USERNAME='demo-user'")

    for (const runtime of ['node', 'deno']) {
      const runtimePort = await getFreePort()
      const server = inBackground(dir, `npm run start:${runtime}`, { PORT: String(runtimePort) })
      running.push(server)
      await waitFor(`npm run start:${runtime}`, server, healthy(`http://127.0.0.1:${runtimePort}`))
      const read = await run(dir, curlCommand.replace('127.0.0.1:8787', `127.0.0.1:${runtimePort}`))
      expect(read.stdout).toContain("export USERNAME='demo-user'")
      await server.stop()
    }

    await dev.stop()
    process.kill(stack.child.pid!, 'SIGTERM') // what Ctrl-C does to the stack, through npm
    await new Promise((resolve) => stack.child.once('exit', resolve))
    for (const written of ['.dev.vars', '.tmp/stack.json', '.tmp/stack']) expect(existsSync(join(dir, written))).toBe(false)
    await expect(run(dir, tokenCommand)).rejects.toThrow(/start one with `npm run stack`/)
  }, 180_000)
})

// The README's first command: `npm run demo` prints a rendered env file for the demo secret
// within 60 s with absolute paths and the issuer URL, keeps serving, and stops everything it
// started (OpenBao, wrangler, workerd, esbuild) and removes its temporary directories when npm
// alone gets SIGTERM or SIGINT (`kill PID`, a process manager), not only on Ctrl-C to the group.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { killOnExit, signalGroup } from './support/child-process.ts'

const DEMO_DEADLINE_MS = 60_000
const STOP_DEADLINE_MS = 20_000

/** Every process below `root` (Linux /proc): the demo's servers run in process groups of their own. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The fields after the parenthesised command name: state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = []
  const walk = (pid: number) => (children.get(pid) ?? []).forEach((child) => (found.push(child), walk(child)))
  walk(root)
  return found
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return ''
  }
}
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))

async function startDemo() {
  const startedAt = Date.now()
  const child = spawn('npm', ['run', 'demo'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const unregister = killOnExit(child)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  while (!output.includes('Serving until Ctrl-C') && Date.now() - startedAt < DEMO_DEADLINE_MS && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { child, unregister, exited, output: () => output, elapsedMs: Date.now() - startedAt }
}

describe('npm run demo', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints absolute paths and the issuer, serves, and on %s to the npm process leaves no process and no temp directory',
    async (signal) => {
      const demo = await startDemo()
      try {
        expect(demo.elapsedMs).toBeLessThan(DEMO_DEADLINE_MS)
        const output = demo.output()
        expect(output).toContain("export USERNAME='demo-user'")
        expect(output).toContain(`export PASSWORD='s3cr3t-'\\''quoted'\\'' $HOME'`)
        expect(output).toMatch(/cluster issuer {3}http:\/\/127\.0\.0\.1:\d+/)
        const issuer = /cluster issuer {3}(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
        expect(output).toContain(`npm run token -- --issuer ${issuer} --namespace demo --service-account other --out /`)
        const curl = /curl -fsS -H "Authorization: Bearer \$\(cat ([^)]+)\)" '([^']+)'/.exec(output)
        expect(curl).not.toBeNull()
        const [, tokenFile, secretUrl] = curl as unknown as [string, string, string]
        expect(isAbsolute(tokenFile)).toBe(true)
        const tempDir = /files {12}(\/\S+)/.exec(output)?.[1] as string
        expect(tokenFile.startsWith(`${tempDir}/`)).toBe(true)

        // Still serving: the printed command works from any directory.
        const again = await fetch(secretUrl, { headers: { Authorization: `Bearer ${readFileSync(tokenFile, 'utf8')}` } })
        expect(again.status).toBe(200)
        expect(await again.text()).toContain("export USERNAME='demo-user'")

        // The printed way to a token of another ServiceAccount works: Vault has no role for it.
        const tokenCommand = /npm run token -- (--issuer \S+ --namespace demo --service-account other --out (\S+))/.exec(output)!
        // Asynchronously: a blocked event loop would miss wrangler closing the idle keep-alive socket.
        await promisify(execFile)('npm', ['run', '-s', 'token', '--', ...tokenCommand[1]!.split(' ')])
        const other = await fetch(secretUrl, { headers: { Authorization: `Bearer ${readFileSync(tokenCommand[2]!, 'utf8')}` } })
        expect(other.status).toBe(403)
        expect(await other.json()).toMatchObject({ code: 'vault_denied' })

        const started = descendantsOf(demo.child.pid!)
        const names = started.map(commandLine).join('\n')
        for (const program of ['scripts/demo.ts', 'bao server', 'wrangler', 'workerd', 'esbuild']) expect(names).toContain(program)
        const openBaoDir = /-config=(\S+)\/config\.hcl/.exec(names)?.[1] as string
        expect(existsSync(openBaoDir) && existsSync(tempDir)).toBe(true)

        process.kill(demo.child.pid!, signal) // the npm process only, as `kill` or a process manager does
        const deadline = Date.now() + STOP_DEADLINE_MS
        while (started.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
        expect(started.filter(alive).map(commandLine)).toEqual([])
        expect(existsSync(tempDir)).toBe(false)
        expect(existsSync(openBaoDir)).toBe(false)
        await expect(fetch(new URL('/healthz', secretUrl), { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
        await demo.exited
      } finally {
        // After a failed assertion: SIGTERM first, so the demo stops the servers it runs in process
        // groups of their own (a SIGKILL would orphan them); SIGKILL only if it does not exit.
        if (demo.child.exitCode === null) {
          process.kill(demo.child.pid!, 'SIGTERM')
          await Promise.race([demo.exited, new Promise((resolve) => setTimeout(resolve, STOP_DEADLINE_MS))])
          signalGroup(demo.child.pid!, 'SIGKILL')
        }
        demo.unregister()
      }
    },
    120_000,
  )
})

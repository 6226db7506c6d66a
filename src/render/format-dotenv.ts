// format=dotenv: `NAME="value"` lines that both the `dotenv` npm package (v18, default parser)
// and python-dotenv (1.x, default `interpolate=True`) read back exactly (SPEC §6). The two
// disagree about escapes, so only what they agree on is written:
//
// - inside "…", dotenv npm turns `\n` and `\r` into LF and CR and keeps every other backslash;
//   python-dotenv decodes `\\ \' \" \a \b \f \n \r \t \v` and keeps other backslashes. So LF and
//   CR are written `\n`, `\r`; a `"` cannot be written at all (npm keeps the backslash of `\"`);
//   a literal backslash is only safe when the next character is none of `\ ' " a b f n r t v`,
//   LF or CR, and not at the end (python would take `\"` for an escaped closing quote).
// - inside '…', neither decodes anything except python's `\\` and `\'`: so a value with `"` but
//   without `'`, CR (dotenv npm turns every CR into LF before parsing), `\\` or a trailing `\`
//   is written single-quoted, raw newlines included.
// - python-dotenv expands `${NAME}` and `${NAME:-default}` in any value, quoted or not, and has
//   no escape for it.
// A value that fits neither form is a 400 naming its key: never a line one reader gets wrong.
import { badRequest } from '../errors.ts'
import { describeKey } from './describe-key.ts'
import type { EnvVariable } from './env-variable.ts'

/**
 * Whether python-dotenv's own pattern (dotenv/variables.py, _posix_variable:
 * /\$\{[^}:]*(?::-[^}]*)?\}/) matches anywhere in `value`. Not run as that regex: it backtracks
 * from every `${` to the end of the value (quadratic: a 160 KB secret of `${` took 4.7 s per
 * render). From a `${`, it matches iff a `}` follows and the first `:` after the `${` is past
 * that `}` or is `:-`; the next `}` and `:` only move forward, so one pass finds them all.
 */
export function hasPythonDotenvInterpolation(value: string): boolean {
  let brace = -1
  let colon = -1
  for (let start = value.indexOf('${'); start !== -1; start = value.indexOf('${', start + 1)) {
    const from = start + 2
    if (brace < from) {
      brace = value.indexOf('}', from)
      if (brace === -1) return false
    }
    if (colon !== Infinity && colon < from) {
      colon = value.indexOf(':', from)
      if (colon === -1) colon = Infinity
    }
    if (colon > brace || value[colon + 1] === '-') return true
  }
  return false
}

// After a literal backslash, these characters would make python-dotenv and dotenv npm disagree.
const UNSAFE_AFTER_BACKSLASH = new Set(['\\', "'", '"', 'a', 'b', 'f', 'n', 'r', 't', 'v', '\n', '\r'])

export function formatDotenv(variables: readonly EnvVariable[]): string {
  return variables.map(({ key, name, value }) => `${name}=${quoteDotenvValue(key, value)}\n`).join('')
}

/** The quoted value as written after `NAME=`; throws a 400 naming `key` when none fits. */
export function quoteDotenvValue(key: string, value: string): string {
  if (value.includes('\0')) {
    throw unrepresentable(key, 'contains a NUL character, which no environment variable can hold')
  }
  if (hasPythonDotenvInterpolation(value)) {
    throw unrepresentable(key, 'contains ${…}, which python-dotenv expands as a variable')
  }
  const quoted = doubleQuoted(value) ?? singleQuoted(value)
  if (quoted === undefined) {
    throw unrepresentable(key, "mixes quotes and backslashes in a way the dotenv readers disagree on (\" with ', a CR, \\\\ or a trailing \\)")
  }
  return quoted
}

function doubleQuoted(value: string): string | undefined {
  if (value.includes('"')) return undefined
  let body = ''
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!
    if (char === '\n') body += '\\n'
    else if (char === '\r') body += '\\r'
    else if (char === '\\' && (i + 1 === value.length || UNSAFE_AFTER_BACKSLASH.has(value[i + 1]!))) return undefined
    else body += char
  }
  return `"${body}"`
}

function singleQuoted(value: string): string | undefined {
  if (value.includes("'") || value.includes('\r') || value.includes('\\\\') || value.endsWith('\\')) return undefined
  return `'${value}'`
}

function unrepresentable(key: string, why: string) {
  return badRequest(`The value of ${describeKey(key)} ${why}; use format=env or json for it.`, 'value_unrepresentable')
}

// format=env: `export NAME='value'` lines for `. ./file` or `eval "$(curl …)"` in sh, bash,
// dash, busybox ash and zsh (SPEC §6). Inside single quotes no shell gives any character a
// meaning except the closing quote (POSIX XCU 2.2.2), so the only escape needed is for `'`
// itself: close the quote, add an escaped quote, reopen (`'\''`).
import { badRequest } from '../errors.ts'
import { describeKey } from './describe-key.ts'
import type { EnvVariable } from './env-variable.ts'

/**
 * Names whose value does not survive `export NAME='…'` in at least one of the five shells:
 * read-only (bash UID, zsh ARGC), integer-typed (zsh LINES, dash OPTIND) or recomputed on
 * every read (bash RANDOM, busybox EPOCHSECONDS). Found by sourcing each candidate in every
 * shell; test/render/format-env.test.ts re-checks that each name outside this list round-trips.
 *
 * One deliberate exception: zsh's USERNAME (assigning it tries to switch user) is NOT listed,
 * because `username` is the most common Vault key of all; docs/rendering.md tells zsh users
 * to set ?prefix=.
 */
export const SHELL_RESERVED_NAMES: ReadonlySet<string> = new Set([
  '_',
  // bash
  'BASHOPTS', 'BASHPID', 'BASH_ARGC', 'BASH_ARGV', 'BASH_COMMAND', 'BASH_COMPAT', 'BASH_LINENO',
  'BASH_SOURCE', 'BASH_SUBSHELL', 'BASH_VERSINFO', 'BASH_XTRACEFD', 'DIRSTACK', 'EPOCHREALTIME',
  'EPOCHSECONDS', 'EUID', 'FUNCNAME', 'GROUPS', 'HISTCMD', 'LINENO', 'OPTIND', 'PIPESTATUS', 'PPID', 'RANDOM',
  'SECONDS', 'SHELLOPTS', 'SRANDOM', 'UID',
  // zsh
  'ARGC', 'COLUMNS', 'EGID', 'ERRNO', 'GID', 'HISTCHARS', 'HISTSIZE', 'KEYBOARD_HACK', 'KEYTIMEOUT',
  'LINES', 'LISTMAX', 'MAILCHECK', 'SAVEHIST', 'SHLVL', 'TRY_BLOCK_ERROR', 'TRY_BLOCK_INTERRUPT',
  'TTYIDLE', 'ZLE_RPROMPT_INDENT', 'ZSH_EVAL_CONTEXT', 'ZSH_SUBSHELL',
])

/** `'…'` with every `'` written as `'\''`: one word, taken literally by every POSIX shell and zsh. */
export function shellSingleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

export function formatEnv(variables: readonly EnvVariable[]): string {
  return variables.map((variable) => `export ${variable.name}=${shellSingleQuote(checkShellSafe(variable))}\n`).join('')
}

function checkShellSafe({ key, name, value }: EnvVariable): string {
  if (SHELL_RESERVED_NAMES.has(name)) {
    throw badRequest(
      `The key ${describeKey(key)} maps to ${name}, which a shell reserves (read-only or special), so its value would not arrive; set ?prefix= or use format=dotenv or json.`,
      'env_name_invalid',
    )
  }
  // C strings end at NUL: no shell variable and no environment entry can hold one.
  if (value.includes('\0')) {
    throw badRequest(`The value of ${describeKey(key)} contains a NUL character, which no environment variable can hold; use format=json or raw.`, 'value_unrepresentable')
  }
  return value
}

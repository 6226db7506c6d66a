import fc from 'fast-check'
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { SHELL_RESERVED_NAMES, shellSingleQuote } from '../../src/render/format-env.ts'
import { renderSecret } from '../../src/render/index.ts'
import { HOSTILE_VALUES } from './hostile-values.ts'
import { LOCALES, SHELLS, TempDir, sourceInShell } from './readers.ts'
import { errorOf } from '../support/error-of.ts'

const temp = new TempDir()
afterAll(() => temp.remove())

const renderEnv = (data: Record<string, unknown>, prefix?: string) => renderSecret(data, { format: 'env', prefix }).body as string

/** Renders `values` as V0…Vn, sources the output in `shell` and returns what the shell holds. */
async function roundTrip(shell: (typeof SHELLS)[number], values: readonly string[], locale: string) {
  const data = Object.fromEntries(values.map((value, i) => [`v${i}`, value]))
  const file = temp.write(renderEnv(data))
  return sourceInShell(shell, file, values.map((_, i) => `V${i}`), locale, temp.path)
}

describe('format=env', () => {
  it('finds sh, bash, dash, busybox ash and zsh on this machine', () => {
    const missing = SHELLS.filter((shell) => spawnSync(shell.command, [...shell.args, '-c', 'exit 0']).status !== 0).map((shell) => shell.name)
    expect(missing, 'install with `apt-get install -y dash zsh busybox`').toEqual([])
  })

  it('writes one export line per key, single-quoted, with a final newline', () => {
    expect(renderEnv({ username: 'app', password: "it's" })).toBe("export USERNAME='app'\nexport PASSWORD='it'\\''s'\n")
    expect(renderEnv({})).toBe('')
  })

  it('quotes by closing, escaping and reopening around each single quote', () => {
    expect(shellSingleQuote('')).toBe("''")
    expect(shellSingleQuote("'")).toBe("''\\'''")
    expect(shellSingleQuote('a\nb$`"\\')).toBe("'a\nb$`\"\\'")
  })

  it(`has at least 60 hostile values to try (${HOSTILE_VALUES.length})`, () => {
    expect(HOSTILE_VALUES.length).toBeGreaterThanOrEqual(60)
  })

  for (const shell of SHELLS) {
    for (const locale of LOCALES) {
      it(`round-trips every hostile value byte for byte through ${shell.name} (LC_ALL=${locale})`, async () => {
        const values = HOSTILE_VALUES.map((hostile) => hostile.value)
        const result = await roundTrip(shell, values, locale)
        expect(result.stderr).toBe('')
        for (const [i, hostile] of HOSTILE_VALUES.entries()) {
          expect(result.values[i], hostile.name).toBe(hostile.value)
        }
        expect(result.values).toHaveLength(values.length)
      })
    }
  }

  it('encodes numbers and booleans as JSON text, objects as compact JSON and null as empty', () => {
    expect(renderEnv({ n: 42, f: 1.5, t: true, o: { a: [1, 'x'] }, z: null })).toBe(
      "export N='42'\nexport F='1.5'\nexport T='true'\nexport O='{\"a\":[1,\"x\"]}'\nexport Z=''\n",
    )
  })

  it('refuses a value with a NUL character, naming its key', () => {
    const error = errorOf(() => renderEnv({ ok: 'x', 'bin-key': 'a\0b' }))
    expect(error).toMatchObject({ status: 400, code: 'value_unrepresentable' })
    expect(error.detail).toContain('"bin-key"')
    expect(error.detail).not.toContain('a\0b')
  })

  it('refuses keys that map to a name a shell reserves, and suggests a prefix', () => {
    const error = errorOf(() => renderEnv({ uid: '1000' }))
    expect(error).toMatchObject({ status: 400, code: 'env_name_invalid' })
    expect(error.detail).toContain('UID')
    expect(error.detail).toContain('prefix')
    expect(renderEnv({ uid: '1000' }, 'app_')).toBe("export APP_UID='1000'\n")
  })

  // Shell variables with a meaning of their own: each is either refused or round-trips in every
  // shell. A shell upgrade that makes one more of them special fails here.
  const SHELL_SPECIAL_CANDIDATES = [
    ...SHELL_RESERVED_NAMES,
    'PATH', 'HOME', 'PWD', 'OLDPWD', 'IFS', 'PS1', 'PS2', 'PS4', 'ENV', 'BASH_ENV', 'CDPATH', 'FPATH', 'MANPATH',
    'MAIL', 'MAILPATH', 'OPTARG', 'HISTFILE', 'HISTFILESIZE', 'HISTCONTROL', 'HISTIGNORE', 'HISTTIMEFORMAT',
    'PROMPT', 'PROMPT_COMMAND', 'RPROMPT', 'SPROMPT', 'WORDCHARS', 'NULLCMD', 'READNULLCMD', 'TERM', 'SHELL',
    'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TMOUT', 'PERIOD', 'LOGCHECK', 'WATCH', 'REPORTTIME', 'PSVAR',
    'DIRSTACKSIZE', 'BAUD', 'HOSTNAME', 'HOSTTYPE', 'MACHTYPE', 'OSTYPE', 'VENDOR', 'HOST', 'BASH_ARGV0',
    'BASH_REMATCH', 'BASH_ALIASES', 'BASH_CMDS', 'PIPESTATUS', 'COMP_WORDBREAKS', 'REPLY', 'TIMEFORMAT',
    'IGNOREEOF', 'FIGNORE', 'GLOBIGNORE', 'INPUTRC', 'POSIXLY_CORRECT', 'ZDOTDIR', 'ZSH_VERSION', 'ZSH_NAME',
    'ZSH_PATCHLEVEL', 'ZSH_ARGZERO', 'ZSH_SCRIPT', 'TTY', 'SIGNALS', 'KEYS', 'MATCH', 'OPTERR', 'EDITOR',
  ]

  // zsh's USERNAME switches user when assigned; it stays allowed because `username` is the most
  // common Vault key (docs/rendering.md tells zsh users to use ?prefix=).
  const KNOWN_EXCEPTIONS: Record<string, string[]> = { zsh: ['USERNAME'] }

  it('lets every shell-special name outside the reserved list round-trip in every shell (zsh USERNAME excepted)', async () => {
    const allowed = [...new Set([...SHELL_SPECIAL_CANDIDATES, 'USERNAME'])].filter((name) => !SHELL_RESERVED_NAMES.has(name))
    const value = "x y\n$z 1 'q' -"
    const file = temp.write(renderEnv(Object.fromEntries(allowed.map((name) => [name, value]))))
    for (const shell of SHELLS) {
      const result = await sourceInShell(shell, file, allowed, 'C.UTF-8', temp.path)
      const wrong = allowed.filter((name, i) => result.values[i] !== value)
      expect(wrong, `${shell.name} changes these`).toEqual(KNOWN_EXCEPTIONS[shell.name] ?? [])
    }
    for (const name of SHELL_RESERVED_NAMES) {
      expect(errorOf(() => renderEnv({ [name]: 'x' })).code, name).toBe('env_name_invalid')
    }
  })

  it('round-trips generated values through every shell (property)', async () => {
    const special = fc.constantFrom("'", '"', '\\', '$', '`', '\n', '\r', ' ', '{', '}', '#', '=', '!', '(', ')', 'é', '😀', '\u2028')
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: special, maxLength: 20 })).map((s) => s.replaceAll('\0', ''))
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 6 }), async (values) => {
        for (const shell of SHELLS) {
          const result = await roundTrip(shell, values, 'C.UTF-8')
          expect(result.values).toEqual(values)
        }
      }),
      { numRuns: 100 },
    )
  })
})

// Go regular expressions (RE2 syntax, pkg.go.dev/regexp/syntax) for regexMatch and
// regexReplaceAll, run on JavaScript's RegExp. RE2 runs in linear time; JavaScript's engine
// backtracks, so a pattern that RE2 accepts could still cost exponential time here. Hand-written
// rather than a library because no RE2 port runs in all three runtimes without WebAssembly
// loading differences (Workers need the module bound at build time). So this file:
// - translates RE2 syntax to an equivalent `u`-mode JavaScript pattern, token by token;
// - refuses what RE2 itself lacks (backreferences, lookaround: Go fails to compile them too);
// - refuses nested quantifiers, a quantified group that holds a quantifier or an alternation
//   (`(a+)+`, `(a|a)*`), the shapes that make a backtracking engine exponential;
// - and bounds the input text: adjacent repetitions that can match the same text (`a*a*a*b`)
//   still backtrack polynomially, about n^(q+1) for q unbounded repetitions tried from every start, so the longest text a
//   pattern may run on shrinks with q (maxInputChars), besides MAX_REGEXP_INPUT_CHARS.
import { TemplateRuntimeError } from './template-errors.ts'

export const MAX_REGEXP_INPUT_CHARS = 64 * 1024
export const MAX_REGEXP_PATTERN_CHARS = 4 * 1024
/** n^(q+1) (q repetitions, tried from every start) stays below this: well under a second of backtracking. */
const BACKTRACKING_BUDGET = 5e7

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

/** Perl classes as RE2 defines them (ASCII only; Go's \s has no \v). */
const PERL_CLASSES: Record<string, string> = { d: '0-9', s: '\\t\\n\\f\\r ', w: '0-9A-Za-z_' }

const fail = (pattern: string, message: string): never => {
  throw new TemplateRuntimeError(`error parsing regexp ${JSON.stringify(pattern.slice(0, 80))}: ${message}`)
}

interface Group {
  quantified: boolean
  alternation: boolean
}

export interface CompiledRegexp {
  regexp: RegExp
  /** Unbounded repetitions in the pattern. */
  repetitions: number
  /** The longest text it may run on (see the file comment). */
  maxInputChars: number
  /** Capture group names by index (undefined for unnamed ones), for ${name} in replacements. */
  names: Map<string, number>
  groups: number
}

const cache = new Map<string, CompiledRegexp>()

export function compileGoRegexp(pattern: string): CompiledRegexp {
  const cached = cache.get(pattern)
  if (cached) return cached
  if (pattern.length > MAX_REGEXP_PATTERN_CHARS) fail(pattern, `longer than ${MAX_REGEXP_PATTERN_CHARS} characters`)
  let flags = 'u'
  let i = 0
  // Leading flag group (?i) (?s) (?m) (?is)…: JavaScript has these as pattern-wide flags.
  const leading = /^\(\?([ims]+)\)/.exec(pattern)
  if (leading) {
    for (const flag of new Set(leading[1])) flags += flag
    i = leading[0].length
  }
  let out = ''
  const names = new Map<string, number>()
  let groups = 0
  // Per open group: whether it contains a quantifier or an alternation (for the nesting check).
  const stack: Group[] = [{ quantified: false, alternation: false }]
  let lastAtomGroup: Group | undefined
  let unbounded = 0
  const markQuantifier = (isUnbounded: boolean) => {
    if (isUnbounded) unbounded++
    // A quantifier on a group that already repeats or branches inside: exponential when backtracking.
    if (lastAtomGroup && (lastAtomGroup.quantified || lastAtomGroup.alternation)) {
      fail(pattern, 'nested repetition (such as (a+)+ or (a|b)*) is refused: it can take exponential time in the JavaScript regexp engine')
    }
    stack.at(-1)!.quantified = true
  }
  while (i < pattern.length) {
    const char = pattern[i]!
    if (char === '\\') {
      const [text, length] = translateEscape(pattern, i, false)
      out += text
      i += length
      lastAtomGroup = undefined
      continue
    }
    if (char === '[') {
      const [text, length] = translateClass(pattern, i)
      out += text
      i += length
      lastAtomGroup = undefined
      continue
    }
    if (char === '(') {
      if (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i) || pattern.startsWith('(?<=', i) || pattern.startsWith('(?<!', i)) {
        fail(pattern, 'lookaround ((?=, (?!, (?<=, (?<!) is not RE2 syntax')
      }
      const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(pattern.slice(i))
      if (named) {
        groups++
        if (names.has(named[1]!)) fail(pattern, `duplicate capture group name ${named[1]}`)
        names.set(named[1]!, groups)
        out += `(?<${named[1]}>`
        i += named[0].length
      } else if (pattern.startsWith('(?:', i)) {
        out += '(?:'
        i += 3
      } else if (pattern[i + 1] === '?') {
        fail(pattern, 'flag groups are supported only at the start of the pattern ((?i), (?s), (?m))')
      } else {
        groups++
        out += '('
        i++
      }
      stack.push({ quantified: false, alternation: false })
      lastAtomGroup = undefined
      continue
    }
    if (char === ')') {
      if (stack.length === 1) fail(pattern, 'unexpected )')
      const group = stack.pop()!
      // What the closed group holds also counts for the group around it.
      if (group.quantified) stack.at(-1)!.quantified = true
      lastAtomGroup = group
      out += ')'
      i++
      continue
    }
    if (char === '|') {
      stack.at(-1)!.alternation = true
      out += '|'
      i++
      lastAtomGroup = undefined
      continue
    }
    if (char === '*' || char === '+' || char === '?') {
      markQuantifier(char !== '?')
      out += char
      i++
      if (pattern[i] === '?') out += pattern[i++]
      lastAtomGroup = undefined
      continue
    }
    if (char === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i))
      if (repeat) {
        const min = Number(repeat[1])
        const max = repeat[3] === undefined ? (repeat[2] ? Infinity : min) : repeat[3] === '' ? Infinity : Number(repeat[3])
        if (min > 1000 || (max !== Infinity && max > 1000) || max < min) fail(pattern, `invalid repeat count ${repeat[0]}`)
        if (max > 1) markQuantifier(max === Infinity || max > 16)
        out += repeat[0]
        i += repeat[0].length
        if (pattern[i] === '?') out += pattern[i++]
        lastAtomGroup = undefined
        continue
      }
      out += '\\{'
      i++
      lastAtomGroup = undefined
      continue
    }
    if (char === '}' || char === ']' || char === '/') {
      out += `\\${char}`
      i++
      lastAtomGroup = undefined
      continue
    }
    const codePoint = String.fromCodePoint(pattern.codePointAt(i)!)
    out += codePoint
    i += codePoint.length
    lastAtomGroup = undefined
  }
  if (stack.length > 1) fail(pattern, 'missing closing )')
  let regexp: RegExp
  try {
    regexp = new RegExp(out, `${flags}g`)
  } catch {
    return fail(pattern, 'invalid or unsupported syntax')
  }
  const maxInputChars = Math.min(MAX_REGEXP_INPUT_CHARS, Math.floor(BACKTRACKING_BUDGET ** (1 / (unbounded + 1))))
  const compiled = { regexp, names, groups, maxInputChars, repetitions: unbounded }
  if (cache.size > 256) cache.clear()
  cache.set(pattern, compiled)
  return compiled
}

/** One escape outside or inside a class: returns the JavaScript text and the length consumed. */
function translateEscape(pattern: string, at: number, inClass: boolean): [string, number] {
  const next = pattern[at + 1]
  if (next === undefined) return fail(pattern, 'trailing backslash at end of expression')
  if (/[1-9]/.test(next)) fail(pattern, `invalid escape sequence: \\${next} (RE2 has no backreferences)`)
  if (next === 'd' || next === 's' || next === 'w') return [inClass ? PERL_CLASSES[next]! : `[${PERL_CLASSES[next]}]`, 2]
  if (next === 'D' || next === 'S' || next === 'W') {
    if (inClass) fail(pattern, 'negated Perl classes inside a character class are not supported')
    return [`[^${PERL_CLASSES[next.toLowerCase()]}]`, 2]
  }
  if (next === 'p' || next === 'P') {
    const name = pattern[at + 2] === '{' ? /^\{(\^?)([A-Za-z_]+)\}/.exec(pattern.slice(at + 2)) : /^()([A-Za-z])/.exec(pattern.slice(at + 2))
    if (!name) return fail(pattern, 'invalid character class range')
    const negated = (next === 'P') !== (name[1] === '^')
    const property = name[2] === 'Any' ? 'Any' : name[2]!.length <= 2 ? `General_Category=${name[2]}` : `Script=${name[2]}`
    return [`\\${negated ? 'P' : 'p'}{${property}}`, 2 + name[0].length]
  }
  if (next === 'A') return inClass ? fail(pattern, 'invalid escape \\A in class') : ['(?<![\\s\\S])', 2]
  if (next === 'z') return inClass ? fail(pattern, 'invalid escape \\z in class') : ['(?![\\s\\S])', 2]
  if (next === 'b' || next === 'B') return inClass ? fail(pattern, 'invalid escape in class') : [`\\${next}`, 2]
  if (next === 'Q') {
    const end = pattern.indexOf('\\E', at + 2)
    const literal = pattern.slice(at + 2, end < 0 ? pattern.length : end)
    return [[...literal].map((char) => (/[\\^$.*+?()[\]{}|/-]/.test(char) ? `\\${char}` : char)).join(''), literal.length + 2 + (end < 0 ? 0 : 2)]
  }
  if (next === 'x') {
    const hex = /^x(\{[0-9A-Fa-f]+\}|[0-9A-Fa-f]{2})/.exec(pattern.slice(at + 1))
    if (!hex) return fail(pattern, 'invalid escape sequence \\x')
    const code = Number.parseInt(hex[1]!.replace(/[{}]/g, ''), 16)
    if (code > 0x10ffff) fail(pattern, 'invalid escape sequence')
    return [`\\u{${code.toString(16)}}`, 1 + hex[0].length]
  }
  if (/[0-7]/.test(next)) {
    const octal = /^[0-7]{1,3}/.exec(pattern.slice(at + 1))![0]
    return [`\\u{${Number.parseInt(octal, 8).toString(16)}}`, 1 + octal.length]
  }
  const simple: Record<string, string> = { a: '\\x07', f: '\\f', n: '\\n', r: '\\r', t: '\\t', v: '\\v' }
  if (simple[next]) return [simple[next]!, 2]
  // RE2 allows escaping any ASCII punctuation; `u`-mode JavaScript only syntax characters.
  if (/[!-/:-@[-`{-~]/.test(next)) return [/[\\^$.*+?()[\]{}|/-]/.test(next) ? `\\${next}` : next, 2]
  return fail(pattern, `invalid escape sequence: \\${next}`)
}

function translateClass(pattern: string, at: number): [string, number] {
  let i = at + 1
  let out = '['
  if (pattern[i] === '^') {
    out += '^'
    i++
  }
  let first = true
  while (i < pattern.length) {
    const char = pattern[i]!
    if (char === ']' && !first) return [`${out}]`, i + 1 - at]
    first = false
    if (char === '[' && pattern[i + 1] === ':') {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i))
      const range = posix && POSIX_CLASSES[posix[2]!]
      if (!posix || !range) return fail(pattern, 'invalid character class range')
      if (posix[1]) fail(pattern, 'negated POSIX classes are not supported')
      out += range
      i += posix[0].length
      continue
    }
    if (char === '\\') {
      const [text, length] = translateEscape(pattern, i, true)
      out += text
      i += length
      continue
    }
    if (char === '[' || char === ']' || char === '/' || (char === '-' && (pattern[i + 1] === ']' || out.endsWith('[') || out.endsWith('^')))) {
      out += `\\${char}`
      i++
      continue
    }
    const codePoint = String.fromCodePoint(pattern.codePointAt(i)!)
    out += codePoint
    i += codePoint.length
  }
  return fail(pattern, 'missing closing ]')
}

function checkInput(compiled: CompiledRegexp, text: string): void {
  if (text.length > compiled.maxInputChars) {
    throw new TemplateRuntimeError(
      `this regular expression runs on at most ${compiled.maxInputChars} characters of text in vault-edge templates (fewer, the more repetitions it has: JavaScript regexps backtrack)`,
    )
  }
}

/** regexp.MatchString: is there a match anywhere in the text. */
export function goRegexpMatch(pattern: string, text: string): boolean {
  const compiled = compileGoRegexp(pattern)
  checkInput(compiled, text)
  const { regexp } = compiled
  regexp.lastIndex = 0
  return regexp.test(text)
}

/**
 * regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` and `$$` in the replacement (Expand:
 * `$name` takes the longest run of letters, digits and `_`; an unknown group is empty), and an
 * empty match right after a previous match is skipped, as Go does.
 */
export function goRegexpReplaceAll(pattern: string, replacement: string, text: string): string {
  const compiled = compileGoRegexp(pattern)
  checkInput(compiled, text)
  const { regexp, names, groups } = compiled
  regexp.lastIndex = 0
  let out = ''
  let position = 0
  let lastMatchEnd = -1
  for (;;) {
    const match = regexp.exec(text)
    if (!match) break
    const start = match.index
    const end = start + match[0].length
    if (match[0].length === 0) {
      // Advance by one code point past an empty match.
      regexp.lastIndex = end + (text.codePointAt(end)! > 0xffff ? 2 : 1)
      if (start === lastMatchEnd) continue
    }
    out += text.slice(position, start) + expand(replacement, match, names, groups)
    position = end
    lastMatchEnd = end
    if (end > text.length) break
  }
  return out + text.slice(position)
}

function expand(template: string, match: RegExpExecArray, names: Map<string, number>, groups: number): string {
  return template.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z0-9_]+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$'
    const name = braced ?? bare!
    if (braced !== undefined && !/^[A-Za-z0-9_]+$/.test(braced)) return whole
    const index = /^[0-9]+$/.test(name) ? Number(name) : names.get(name)
    return index !== undefined && index <= groups ? (match[index] ?? '') : ''
  })
}

/**
 * What one call may cost at worst, in the evaluator's function-work units (characters): the
 * backtracking bound n^(q+1), scaled so a template gets a handful of worst-case calls.
 */
export function regexpWork(pattern: string, text: string): number {
  const { repetitions } = compileGoRegexp(pattern)
  return Math.ceil(Math.min(text.length ** (repetitions + 1), BACKTRACKING_BUDGET) / 64)
}

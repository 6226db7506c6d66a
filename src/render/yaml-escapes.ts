// Characters in YAML output that both YAML 1.1 (PyYAML) and YAML 1.2 (`yaml`) read back as
// written. PyYAML's reader refuses a document holding any character outside
// [\t\n\r\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF], and YAML 1.1 treats NEL,
// U+2028 and U+2029 as line breaks, so inside double quotes they become escapes both versions
// decode (YAML 1.1 §5.6 / 1.2 §5.7: \x, \u, \U, \", \\, \n, \r, \t, \0).

/** Noncharacters (U+FDD0–FDEF and the last two code points of every plane): escaped, never raw. */
const isNoncharacter = (code: number) => (code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe

const hex = (code: number, width: number) => code.toString(16).toUpperCase().padStart(width, '0')

function needsEscape(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || code === 0xfeff || isNoncharacter(code) || (code >= 0xd800 && code <= 0xdfff)
}

/** The inside of a double-quoted scalar. */
export function escapeYamlDoubleQuoted(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char === '"' || char === '\\') out += `\\${char}`
    else if (char === '\n') out += '\\n'
    else if (char === '\r') out += '\\r'
    else if (char === '\t') out += '\\t'
    else if (code === 0) out += '\\0'
    // A lone surrogate is not UTF-8 (Vault never sends one): the replacement character.
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\uFFFD'
    else if (!needsEscape(code)) out += char
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`
    else out += `\\U${hex(code, 8)}`
  }
  return out
}

/**
 * Can this multi-line text be a literal block and read back unchanged in both versions: LF line
 * breaks only, no tab, no character that needs an escape, no line ending in a space.
 */
export function isYamlBlockSafe(text: string): boolean {
  if (!text.includes('\n') || text.includes('\t') || / (\n|$)/.test(text)) return false
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (char !== '\n' && needsEscape(code)) return false
  }
  return true
}

// RFC 7515 §4 and RFC 7519 §4: a parser must reject duplicate member names or take the last one.
// JSON.parse takes the last; the token is also handed to Vault, whose Go parser may not agree
// with ours on which duplicate counts. Rejecting them leaves no room for that disagreement.

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])

/**
 * True if any object in `json` names a member twice, after unescaping (`"a"` and `"\u0061"` are
 * the same name). `json` must already have passed JSON.parse: this only scans, it does not validate.
 */
export function hasDuplicateJsonKeys(json: string): boolean {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = []
  let index = 0
  while (index < json.length) {
    const char = json[index]!
    if (char === '"') {
      let end = index + 1
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1
      const literal = json.slice(index, end + 1)
      index = end + 1
      let next = index
      while (next < json.length && WHITESPACE.has(json[next]!)) next++
      const names = open.at(-1)
      // In valid JSON a string followed by ':' is always a member name.
      if (json[next] === ':' && names) {
        const name = JSON.parse(literal) as string
        if (names.has(name)) return true
        names.add(name)
      }
      continue
    }
    if (char === '{') open.push(new Set())
    else if (char === '[') open.push(null)
    else if (char === '}' || char === ']') open.pop()
    index++
  }
  return false
}

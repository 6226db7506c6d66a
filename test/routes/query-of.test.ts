// The query parser of the read routes (src/routes/query-of.ts) must read the names it knows
// exactly as the URL's searchParams do (the first value of each), escaped or not.
import { describe, expect, it } from 'vitest'
import { parseQuery, type ReadQuery } from '../../src/routes/query-of.ts'

const NAMES = ['format', 'version', 'key', 'prefix', 'metadata', 'role'] as const

function byUrlSearchParams(url: string): Record<string, string | undefined> {
  const params = new URL(url).searchParams
  return Object.fromEntries(NAMES.map((name) => [name, params.get(name) ?? undefined]))
}

const asMap = (query: ReadQuery) => ({ ...query })

const BASE = 'http://127.0.0.1:8787/v1/secrets/secret/data/app/config'
const QUERIES = [
  '', '?', '?format=env', '?format=env&key=a,b&prefix=APP_', '?format=env&format=json', '?=x&format=env', '?format', '?format=&key',
  '?a=1&&b=2&', '?a==b', '?format=env#frag&key=x', '?key=a%2Cb', '?prefix=A+B', '?%66ormat=yaml', '?format=%', '?format=%zz&key=%E2%82%AC',
  '?__proto__=x&constructor=y&format=json', '?a=1;b=2', '?key=a&key=b&prefix&prefix=P', '?metadata=true&version=2&role=r', '?Format=env', '?role=app&metadata=true&version=3', '??format=env', '??%66ormat=env',
]

describe('parseQuery', () => {
  it.each(QUERIES)('reads %j as the URL\'s searchParams do', (query) => {
    expect(asMap(parseQuery(BASE + query))).toEqual(byUrlSearchParams(BASE + query))
  })

  it('reads random queries as the URL\'s searchParams do', () => {
    const alphabet = ['format', 'key', 'role', 'prefix', 'metadata', 'version', 'e', '=', '=', '&', '&', '%', '2', 'C', '+', 'é', '#', '?', '_']
    for (let i = 0; i < 5000; i++) {
      const query = '?' + Array.from({ length: Math.floor(Math.random() * 10) }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('')
      expect(asMap(parseQuery(BASE + query)), query).toEqual(byUrlSearchParams(BASE + query))
    }
  })

  it('keeps only the names the routes know, so a name such as __proto__ is never a property', () => {
    const query = parseQuery(`${BASE}?__proto__=x&format=env&constructor=y`)
    expect(Object.keys(query).sort()).toEqual([...NAMES].sort())
    expect(query.format).toBe('env')
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype)
  })
})

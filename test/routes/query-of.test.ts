// The query parser of the read routes (src/routes/query-of.ts) must read a query exactly as the
// URL's searchParams do (first value per name, empty names skipped), escaped or not.
import { describe, expect, it } from 'vitest'
import { parseQuery } from '../../src/routes/query-of.ts'

function byUrlSearchParams(url: string): Map<string, string> {
  const query = new Map<string, string>()
  for (const [name, value] of new URL(url).searchParams) if (name !== '' && !query.has(name)) query.set(name, value)
  return query
}

const asMap = (query: Record<string, string | undefined>) => new Map(Object.entries(query) as [string, string][])

const BASE = 'http://127.0.0.1:8787/v1/secrets/secret/data/app/config'
const QUERIES = [
  '', '?', '?format=env', '?format=env&key=a,b&prefix=APP_', '?format=env&format=json', '?=x&format=env', '?format', '?format=&key',
  '?a=1&&b=2&', '?a==b', '?format=env#frag&key=x', '?key=a%2Cb', '?prefix=A+B', '?%66ormat=yaml', '?format=%', '?format=%zz&key=%E2%82%AC',
  '?__proto__=x&constructor=y', '?a=1;b=2', '?role=app&metadata=true&version=3', '??format=env', '??%66ormat=env',
]

describe('parseQuery', () => {
  it.each(QUERIES)('reads %j as the URL\'s searchParams do', (query) => {
    expect(asMap(parseQuery(BASE + query))).toEqual(byUrlSearchParams(BASE + query))
  })

  it('reads random queries as the URL\'s searchParams do', () => {
    const alphabet = ['a', 'b', 'k', '=', '&', '%', '2', 'C', '+', 'é', '#', '?', '_']
    for (let i = 0; i < 3000; i++) {
      const query = '?' + Array.from({ length: Math.floor(Math.random() * 14) }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('')
      expect(asMap(parseQuery(BASE + query)), query).toEqual(byUrlSearchParams(BASE + query))
    }
  })

  it('gives a name such as __proto__ as a plain entry, never as the object prototype', () => {
    const query = parseQuery(`${BASE}?__proto__=x`)
    expect(query.__proto__).toBe('x')
    expect(Object.getPrototypeOf(query)).toBeNull()
  })
})

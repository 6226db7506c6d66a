// The read routes cut the path from the request URL without parsing it when the URL parser could
// not change it (src/routes/secret-request.ts pathnameOf): it must always equal the parsed pathname.
import { describe, expect, it } from 'vitest'
import { pathnameOf } from '../../src/routes/secret-request.ts'

const ORIGINS = ['http://127.0.0.1:8787', 'https://broker.example', 'http://[::1]:8787', 'http://broker']
const PIECES = ['secret', 'data', 'app', '/', '/', '.', '..', '%2e', '%2E', '%2e%2E', '%73', '%', '%zz', '\\', ' ', '"', '<', '>', '{', '}', '`', '^', '|', 'é', '\u{1F511}', '?', '#', '&', '=', ';', ':', '@', '~', '!', '$', "'", '(', ')', '*', '+', ',', '-', '_', '[', ']', '\t']

describe('pathnameOf', () => {
  it.each([
    'http://127.0.0.1:8787/v1/secrets/secret/data/app/config?format=env',
    'http://127.0.0.1:8787/v1/secrets/secret/data/app/..%20',
    'http://127.0.0.1:8787/v1/secrets/secret/data/app/%2e%2e/other',
    'http://127.0.0.1:8787/v1/%73ecrets/secret/data/app',
    'http://127.0.0.1:8787/v1/secrets/secret/data/app.config',
    'http://127.0.0.1:8787/v1/secrets/a\\b',
    'http://127.0.0.1:8787',
    'http://127.0.0.1:8787?x=1',
    'http://127.0.0.1:8787/v1/secrets/a#frag/b',
  ])('reads %s as the URL parser does', (url) => {
    expect(pathnameOf(url)).toBe(new URL(url).pathname)
  })

  it('reads random paths as the URL parser does', () => {
    for (let i = 0; i < 20_000; i++) {
      const path = '/v1/secrets/' + Array.from({ length: Math.floor(Math.random() * 8) }, () => PIECES[Math.floor(Math.random() * PIECES.length)]).join('')
      const url = ORIGINS[i % ORIGINS.length] + path
      let parsed: string
      try {
        parsed = new URL(url).pathname
      } catch {
        continue
      }
      expect(pathnameOf(url), url).toBe(parsed)
    }
  })
})

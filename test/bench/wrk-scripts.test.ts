// The wrk Lua scripts of `npm run bench` (bench/wrk/) against small servers of this test: each
// request carries the next token, every answer is checked (a wrong X-Cache or status fails the
// run), a pool used once stops the run, and login-read.lua pairs logins with reads.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWrk } from '../../bench/lib/wrk.ts'

const dir = mkdtempSync(join(tmpdir(), 'vault-edge-bench-'))
const tokensFile = (name: string, tokens: string[]) => {
  const file = join(dir, name)
  writeFileSync(file, `${tokens.join('\n')}\n`)
  return file
}

let server: Server
let url: string
const seen: string[] = []
const answerOf = (token: string): [number, string] => (token === 'tok-503' ? [503, 'miss'] : token === 'tok-miss' ? [200, 'miss'] : [200, 'hit'])

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      if (request.url === '/v1/auth/jwt/login') {
        const { jwt, role } = JSON.parse(body) as { jwt: string; role: string }
        response.writeHead(role === 'r' ? 200 : 400, { 'Content-Type': 'application/json' })
        response.end(JSON.stringify({ auth: { client_token: `vault-${jwt}` } }))
        return
      }
      if (request.url === '/v1/secret/data/x') {
        const ok = /^vault-pod-\d+$/.test(String(request.headers['x-vault-token']))
        response.writeHead(ok ? 200 : 403, { 'Content-Type': 'application/json' })
        response.end(JSON.stringify({ data: { data: { k: 'v' } } }))
        return
      }
      const token = String(request.headers.authorization).replace(/^Bearer /, '')
      seen.push(token)
      const [status, cache] = answerOf(token)
      response.writeHead(status, { 'X-Cache': cache })
      response.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const run = (options: Record<string, string | number>, connections = 2) =>
  runWrk({ label: 'case', url, connections, seconds: 1, script: 'tokens.lua', options: { path: '/v1/secrets/x', ...options } })

describe('tokens.lua', () => {
  it('sends the tokens in turn and passes when every answer is 200 with the expected X-Cache', async () => {
    seen.length = 0
    const result = await run({ tokens: tokensFile('good', ['tok-a', 'tok-b', 'tok-c']), cache: 'hit' })
    expect(result.requests).toBeGreaterThan(10)
    expect(new Set(seen)).toEqual(new Set(['tok-a', 'tok-b', 'tok-c']))
  })

  it('fails the run on one answer with the wrong X-Cache', async () => {
    await expect(run({ tokens: tokensFile('one-miss', ['tok-a', 'tok-miss']), cache: 'hit' })).rejects.toThrow(/answers with the wrong X-Cache/)
  })

  it('fails the run on a non-2xx answer', async () => {
    await expect(run({ tokens: tokensFile('one-503', ['tok-a', 'tok-503']) })).rejects.toThrow(/non-2xx answers/)
  })

  it('takes each token of a range once and then stops (once=1)', async () => {
    seen.length = 0
    const tokens = Array.from({ length: 20 }, (_, i) => `tok-${i}`)
    const result = await run({ tokens: tokensFile('once', tokens), from: 6, count: 10, once: 1, cache: 'hit' }, 1)
    expect(result.exhausted).toBe(true)
    // The request wrk sends after the thread stopped carries no token and is never answered.
    expect(seen.filter((token) => token.startsWith('tok-'))).toEqual(tokens.slice(5, 15))
    expect(result.requests).toBe(10)
    expect(result.seconds).toBeLessThan(1)
  })
})

describe('login-read.lua', () => {
  it('logs in, reads with the Vault token it got, and times one pod at a time', async () => {
    const result = await runWrk({
      label: 'direct', url, connections: 1, seconds: 1, script: 'login-read.lua',
      options: { tokens: tokensFile('pods', ['pod-1', 'pod-2', 'pod-3']), role: 'r', mount: 'jwt', path: 'secret/data/x' },
    })
    expect(result.pods).toBeGreaterThan(5)
    // Two requests per pod: a read answered 403 (a wrong token) would have failed the run.
    expect(Math.abs(result.requests - 2 * result.pods)).toBeLessThanOrEqual(1)
    expect(result.podP50Ms).toBeGreaterThan(0)
  })

  it('fails when OpenBao refuses the login', async () => {
    await expect(runWrk({
      label: 'direct', url, connections: 1, seconds: 1, script: 'login-read.lua',
      options: { tokens: tokensFile('pods-bad-role', ['pod-1']), role: 'not-the-role', path: 'secret/data/x' },
    })).rejects.toThrow(/non-2xx answers/)
  })
})

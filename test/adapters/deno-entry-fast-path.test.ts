// The Deno entry's fast path (issue 9): log lines written in batches with Deno's synchronous
// stdout write (src/adapters/deno-log-output.ts) must still leave before the answer they belong
// to, one at a time and many at once, and RS256
// tokens checked by src/adapters/deno-rs256-verify.ts must verify, or not, as before.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createSyncWrites } from '../../src/adapters/deno-log-output.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { hasExited, killOnExit, killProcessGroup } from '../support/child-process.ts'
import { getFreePort } from '../support/free-port.ts'
import { decodeJwt, mintToken } from '../support/mint.ts'

describe('the Deno log output', () => {
  it('writes each text whole, to its stream, also when a write takes only part of it', () => {
    const written = { out: '', err: '' }
    const writer = (stream: 'out' | 'err') => ({
      writeSync(bytes: Uint8Array) {
        const taken = bytes.subarray(0, 7)
        written[stream] += new TextDecoder().decode(taken)
        return taken.byteLength
      },
    })
    const writes = createSyncWrites(writer('out'), writer('err'))
    writes.out('{"msg":"first ü line"}\n{"msg":"second"}\n')
    writes.err('{"msg":"warning"}\n')
    writes.flushAtExit(1, '{"msg":"at exit"}\n')
    writes.flushAtExit(2, '{"msg":"last warning"}\n')
    expect(written).toEqual({ out: '{"msg":"first ü line"}\n{"msg":"second"}\n{"msg":"at exit"}\n', err: '{"msg":"warning"}\n{"msg":"last warning"}\n' })
  })
})

describe('the Deno entry\'s fast primitives, on Deno', () => {
  it('say what Deno\'s WebCrypto and the portable SHA-256 say', () => {
    const output = execFileSync(join(process.cwd(), 'node_modules/.bin/deno'), ['run', '--no-lock', 'test/adapters/support/deno-primitives-check.ts'], {
      encoding: 'utf8',
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
    })
    expect(JSON.parse(output)).toEqual({ verifyMismatches: 0, accepted: 40, refused: 80, digestMismatches: 0, digests: 5 })
  })
})

describe('the Deno entry point', () => {
  const issuerUrl = inject('issuerUrl')
  const openbaoAddr = inject('openbaoAddr')
  const dir = mkdtempSync(join(tmpdir(), 'vault-edge-deno-'))
  const outputFile = join(dir, 'output.log')
  let url: string
  let stop = async () => {}

  // stdout to a file, not a pipe: what the file holds when the answer arrives was written before it.
  beforeAll(async () => {
    const port = await getFreePort()
    const fd = openSync(outputFile, 'a')
    const child = spawn(join(process.cwd(), 'node_modules/.bin/deno'), ['run', '--allow-net', '--allow-env', '--allow-read', '--no-lock', 'src/adapters/deno.ts'], {
      env: { ...process.env, BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })), PORT: String(port), HOST: '127.0.0.1', DENO_NO_UPDATE_CHECK: '1' },
      stdio: ['ignore', fd, fd],
      detached: true,
    })
    const unregister = killOnExit(child)
    stop = async () => {
      unregister()
      await killProcessGroup(child)
    }
    url = `http://127.0.0.1:${port}`
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      if (hasExited(child)) throw new Error(`deno broker exited:\n${readFileSync(outputFile, 'utf8')}`)
      if (await fetch(`${url}/healthz`).then((response) => response.ok, () => false)) return
    }
    throw new Error(`deno broker did not start:\n${readFileSync(outputFile, 'utf8')}`)
  })
  afterAll(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const read = (token: string) => fetch(`${url}/v1/secrets/secret/data/myapp/config?format=env`, { headers: { Authorization: `Bearer ${token}` } })
  const auditLineOf = (response: Response) => {
    const requestId = response.headers.get('X-Request-Id')!
    return readFileSync(outputFile, 'utf8').split('\n').filter((line) => line.includes('"type":"audit"')).map((line) => JSON.parse(line)).find((line) => line.requestId === requestId)
  }

  it('has written a request\'s audit line before its answer arrives, for every answer', async () => {
    const tokens = await Promise.all(Array.from({ length: 3 }, (_, pod) => mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], pod: `fast-${pod}` })))
    for (const token of [...tokens, ...tokens, 'not-a-token']) {
      const response = await read(token)
      expect(auditLineOf(response)).toMatchObject({ status: response.status })
      await response.arrayBuffer()
    }
  })

  it('has written every audit line before its answer arrives when 40 requests come at once', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, pod) => mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], pod: `burst-${pod}` })))
    await read(tokens[0]!).then((response) => response.arrayBuffer())
    const missing = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const response = await read(tokens[i % tokens.length]!)
        // Read the log the moment the answer's headers arrive, before anything else can run.
        const line = auditLineOf(response)
        await response.arrayBuffer()
        return line?.status === response.status ? 0 : 1
      }),
    )
    expect(missing.reduce((a: number, b: number) => a + b, 0)).toBe(0)
  })

  it('serves an RS256 token, and refuses it with any signature byte changed', async () => {
    const token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], pod: 'rs256' })
    expect(decodeJwt(token).header.alg).toBe('RS256')
    const [encodedHeader, encodedPayload, signature] = token.split('.')
    const signatureBytes = Buffer.from(signature!, 'base64url')
    for (const index of [0, 100, signatureBytes.length - 1]) {
      const changed = Buffer.from(signatureBytes)
      changed[index]! ^= 1
      const response = await read(`${encodedHeader}.${encodedPayload}.${changed.toString('base64url')}`)
      expect(response.status).toBe(401)
      await response.arrayBuffer()
    }
    const response = await read(token)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('demo-user')
  })
})

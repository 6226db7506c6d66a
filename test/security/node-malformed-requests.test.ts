// Requests the Node server cannot turn into a Request (before the app sees them) still get the
// API's error shape: every 4xx is application/problem+json (SPEC §2), on Node as elsewhere.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { demoBrokerConfig } from '../support/broker-config.ts'
import { startProcessBroker, type ProcessBroker } from '../support/process-broker.ts'

let broker: ProcessBroker

beforeAll(async () => {
  broker = await startProcessBroker('node', { BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl: inject('issuerUrl'), openbaoAddr: inject('openbaoAddr') })) })
})
afterAll(() => broker?.stop())

/** Sends `head` as written (fetch would refuse or repair it) and returns the raw answer. */
function rawRequest(head: string): Promise<string> {
  const { hostname, port } = new URL(broker.url)
  return new Promise((resolve, reject) => {
    let answer = ''
    const socket = connect(Number(port), hostname, () => socket.write(head))
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => (answer += chunk))
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

describe('malformed requests on Node', () => {
  it('answers a backslash in the path and a malformed Host header with a problem+json 400', async () => {
    for (const head of [
      'GET /v1/secrets/secret\\data\\myapp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      'GET /v1/secrets/secret/data/myapp/config HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
    ]) {
      const answer = await rawRequest(head)
      expect(answer, head).toMatch(/^HTTP\/1\.1 400 /)
      expect(answer.toLowerCase(), head).toContain('content-type: application/problem+json')
      expect(answer, head).toContain('"code":"bad_request"')
    }
  })
})
